package cache

import (
	"sync/atomic"

	"github.com/liveiso/liveiso/cache/internal/store"
)

// The disk store (cache/internal/store) is the packer's memory across
// processes: store files, their format, the pins that keep them from
// trims, the trims and the open-file cache are its business. This file is
// all the packer knows of it: a member is saved (Save) once built and
// not racy, looked up (Load) when the memory cache misses, moved to its
// file (Spill) when the memory cache lets go of it, and the members of the
// latest Initrd are published (Publish), those of an older one retained
// by a Pin.

// memberKey is the store's key: the members are content addressed by it.
type memberKey = store.Key

// DiskUsage is what a cache directory holds; TrimResult says what a Trim
// did.
type (
	DiskUsage  = store.DiskUsage
	TrimResult = store.TrimResult
)

// DefaultCacheSizeBytes is the least the store of a Packer is trimmed to by
// default; the default is four times the latest initrd when that is more.
const DefaultCacheSizeBytes = store.DefaultLimitBytes

// Usage walks the cache directory dir and reports what it holds. It
// changes nothing.
func Usage(dir string) (DiskUsage, error) { return store.Usage(dir) }

// Trim removes the pins of dead processes from the cache directory dir,
// then store files nobody pins, least recently used first, until the
// store holds limitBytes or less (or only pinned files are left).
func Trim(dir string, limitBytes int64) (TrimResult, error) { return store.Trim(dir, limitBytes) }

// compressionCode is a Compression as the store records it.
func compressionCode(c Compression) uint32 {
	switch c {
	case Gzip:
		return 1
	case Zstd:
		return 2
	}
	return 0
}

// stored is m as the store writes it (its bytes only if in memory).
func (m *member) stored() store.Member {
	return store.Member{Key: m.key, Compression: compressionCode(m.comp), RawBytes: m.rawBytes, Data: m.inMemory()}
}

func storedMembers(ms []*member) []store.Member {
	out := make([]store.Member, len(ms))
	for i, m := range ms {
		out[i] = m.stored()
	}
	return out
}

// loadMember returns the member st holds under k, verified and held for
// the Pack in progress, read through st's files; nil if there is none.
func loadMember(st *store.Store, k memberKey, comp Compression) (*member, error) {
	info, ok, err := st.Load(k, compressionCode(comp))
	if !ok || err != nil {
		return nil, err
	}
	m := &member{key: k, comp: comp, sizeBytes: info.SizeBytes, rawBytes: info.RawBytes}
	m.backing.Store(&backing{st: st})
	return m, nil
}

// spillMember switches m from memory to its store file, if st pins it and
// the file holds exactly m's bytes; it reports whether it did.
func spillMember(st *store.Store, m *member) bool {
	data := m.inMemory()
	if data == nil || !st.Spill(m.key, data) {
		return false
	}
	m.backing.Store(&backing{st: st})
	return true
}

// Pin keeps the members of one Initrd in the disk store: no trim, by this
// process or another on the same cache directory, removes them until
// Close. An Initrd's members are pinned while it is its Packer's latest;
// whoever keeps serving an older one (a generation still read by an open
// file handle, an HTTP request in flight) takes a Pin of it, before the
// next Pack of that Packer, and closes the Pin when done.
type Pin struct {
	st   *store.Store
	keys []memberKey
	done atomic.Bool
}

// Retain pins r's stored members until the returned Pin is closed. Its
// Packer must not be closed yet. Without a disk store it pins nothing.
func (r *Initrd) Retain() *Pin {
	if r.store == nil {
		return &Pin{}
	}
	return &Pin{st: r.store, keys: r.store.Retain(storedMembers(r.stored))}
}

// Close releases the pin; later calls do nothing.
func (p *Pin) Close() error {
	if p.st != nil && p.done.CompareAndSwap(false, true) {
		p.st.Release(p.keys)
	}
	return nil
}
