package cache

// WithMembers returns an initrd of r's members followed by more, then the
// one trailer (see Assemble): the guest agent's member goes after the
// rootfs's. r is unchanged; the result has r's stats and pins r's stored
// members when retained, as r does.
func (r *Initrd) WithMembers(more ...Member) (*Initrd, error) {
	n, err := Assemble(append(r.Members(), more...))
	if err != nil {
		return nil, err
	}
	n.stats, n.store, n.stored = r.stats, r.store, r.stored
	return n, nil
}
