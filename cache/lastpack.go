package cache

import (
	"github.com/liveiso/liveiso/newc"
	"github.com/liveiso/liveiso/rootfs"
)

// lastPack is what the next Pack reuses of the last good one. A Pack makes
// it whole at its end and swaps it in; nothing changes it after that, but
// for spare, which the next Pack takes over.
type lastPack struct {
	tree *rootfs.Tree
	// members are those of its Initrd that are not racy, by key, so the next
	// Pack reuses them even when the memory cache has let go of them.
	members map[memberKey]*member
	// racy are its racy chunks by key, each with a member that knows the
	// hash of the bytes it was made from (see settle.go).
	racy map[memberKey]*chunk
	// chunks are its chunks by the path of their first item, so that a
	// chunk whose items are all as they were gets its key without hashing
	// them again (see sameItems).
	chunks map[string]*chunk
	// order is its chunks in member order, small is how many of them are
	// chunks of small items (the large items' own chunks follow them), for
	// the guesses of spec.go.
	order []*chunk
	small int
	// items are its items in member order, so that the next Pack copies the
	// item of an entry that is as it was instead of making its header and
	// hashes again (see reusedItem); chunks hold parts of it.
	items []item
	// spare is the item slice of the Pack before, which nothing refers to
	// any more: the next Pack fills it, rather than leaving a slice of every
	// entry to the garbage collector on each edit.
	spare []item
}

// reusedItem looks for e in prev, the rest of the last Pack's items from
// where the walk has got to, and returns the old item for e if its entry
// equals e, with prev advanced past the entries that sort before e. An item
// is a function of its entry and the Packer's options (its inode number is
// derived from its path's hash), so the copy is exactly what header,
// pathHash and pathInode would make; but for a hard-link candidate, whose
// inode number and size assignInodes decides for its whole group: linked
// reports one, for which only the old header is of use (to tell whether its
// item changed, see items).
// prev is in member order, archive order but for the few large items at
// the end: those are made again.
func reusedItem(prev []item, e *rootfs.Entry) (it item, rest []item, ok, linked bool) {
	for len(prev) > 0 {
		o := &prev[0]
		switch {
		case o.synth:
			prev = prev[1:]
		case o.e.Path == e.Path:
			if *o.e != *e {
				return item{}, prev[1:], false, false
			}
			it := *o
			it.e = e
			return it, prev[1:], !linkable(e), linkable(e)
		case rootfs.ComparePaths(o.e.Path, e.Path) < 0:
			prev = prev[1:] // an entry that is gone
		default:
			return item{}, prev, false, false // e is new
		}
	}
	return item{}, prev, false, false
}

// lookup finds a chunk's member in this Pack's builds, the last Initrd, the
// memory cache and the disk store, in that order. A racy chunk is only
// reused from this Pack. A chunk none of them has, but which was racy in the
// last Pack, gets that member as its earlier one, to be re-read.
func (p *Packer) lookup(prev *lastPack, ch *chunk, built map[memberKey]*member) *member {
	if m := built[ch.key]; m != nil {
		return m
	}
	if prev != nil {
		if old := prev.racy[ch.key]; old != nil {
			ch.earlier = old.m
		}
	}
	if ch.racy {
		return nil
	}
	if prev != nil {
		if m := prev.members[ch.key]; m != nil {
			return m
		}
	}
	p.memMu.Lock()
	m := p.mem.get(ch.key)
	p.memMu.Unlock()
	if m != nil {
		return m
	}
	if p.store == nil {
		return nil
	}
	m, err := loadMember(p.store, ch.key, p.opts.Compression)
	if err != nil {
		p.log.Warn("cache store unreadable", "err", err)
		return nil
	}
	return m
}

// finish makes the Initrd of chunks and what the next Pack reuses of this
// one: the members that are not racy stay known by key and go to the memory
// cache.
func (p *Packer) finish(prev *lastPack, tree *rootfs.Tree, chunks []*chunk, items []item, st Stats) (*Initrd, *lastPack, error) {
	members := make([]Member, len(chunks))
	next := &lastPack{
		tree:    tree,
		members: make(map[memberKey]*member, len(chunks)),
		racy:    map[memberKey]*chunk{},
		chunks:  make(map[string]*chunk, len(chunks)),
		items:   items,
		order:   chunks,
		small:   len(chunks),
	}
	for i, ch := range chunks {
		if len(ch.items) == 1 && ch.items[0].encodedLen() >= p.opts.ChunkTargetBytes {
			next.small = i
			break
		}
	}
	if prev != nil {
		next.spare = prev.items
	}
	var evicted, stored []*member
	for i, ch := range chunks {
		next.chunks[ch.items[0].hdr.Name] = ch
		members[i] = Member{Compression: ch.m.comp, SizeBytes: ch.m.sizeBytes, Data: ch.m}
		if ch.racy {
			next.racy[ch.key] = ch
		} else {
			next.members[ch.key] = ch.m
			stored = append(stored, ch.m)
			evicted = append(evicted, p.memAdd(ch.m)...)
		}
	}
	// Before publish, which unpins the last Initrd's members: a generation
	// that still serves them spills them to their pinned store files.
	p.memMu.Lock()
	evicted = append(evicted, p.mem.keep(next.members)...)
	p.memMu.Unlock()
	p.spill(evicted)
	r, err := Assemble(members)
	if err != nil {
		return nil, nil, err
	}
	r.stats = st
	r.stats.BytesIn += int64(len(newc.AppendTrailer(nil)))
	if p.store != nil {
		p.store.Publish(storedMembers(stored), r.Size())
		r.store, r.stored = p.store, stored
	}
	return r, next, nil
}
