package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
)

// A memberKey (store.go) identifies a member: a hash of everything its
// bytes depend on. That is the encoding options and, for every entry of its chunk, the path,
// the full stat data the scan saw (a file's content is trusted to be the
// same while size, mtime, ctime, dev and ino are, which is what makes a
// restart on an unchanged tree instant; see racy in packer.go for when it is
// not trusted), the symlink target, the header decisions made for the whole
// tree (inode number, link count, whether the entry carries the data) and a
// synthetic file's content.

// keyVersion changes whenever the encoding of a member changes, so that an
// old disk store is never served.
const keyVersion = "liveiso member v2\n"

// chunkKey computes the key of a chunk's member.
func chunkKey(opts *Options, items []item) memberKey {
	h := sha256.New()
	var b []byte
	b = append(b, keyVersion...)
	b = appendString(b, string(opts.Compression))
	b = binary.LittleEndian.AppendUint64(b, uint64(opts.Level))
	b = appendBool(b, opts.RootOwner)
	for i := range items {
		it := &items[i]
		e := it.e
		b = appendString(b, e.Path)
		for _, v := range []uint64{
			uint64(e.Mode), uint64(e.UID), uint64(e.GID), uint64(e.Nlink), uint64(e.Size),
			uint64(e.MtimeNs), uint64(e.CtimeNs), e.Dev, e.Ino, e.Rdev,
			uint64(it.hdr.Ino), uint64(it.hdr.Nlink), uint64(it.hdr.Size),
		} {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
		b = appendString(b, e.Target)
		b = appendBool(b, it.synth)
		b = appendString(b, string(it.content))
		if len(b) > 32<<10 {
			h.Write(b)
			b = b[:0]
		}
	}
	h.Write(b)
	var k memberKey
	h.Sum(k[:0])
	return k
}

// sameItems reports whether two runs of items have equal keys because
// everything chunkKey hashes is equal. Comparing is about ten times faster
// than hashing, and after an edit nearly every chunk is as it was.
func sameItems(a, b []item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if *x.e != *y.e || x.hdr != y.hdr || x.synth != y.synth || !bytes.Equal(x.content, y.content) {
			return false
		}
	}
	return true
}

// unchanged reports, without looking at the entries, whether b, a run of
// this Pack's items, is a, the last Pack's chunk that started at the same
// path: b has a's length and last path and every item of b is reused (the
// last Pack's item of an equal entry, with the header it had). Both runs are
// in archive order, and a run of small items holds every small item between
// its first and its last path, so b's items are a's.
func unchanged(a, b []item) bool {
	if len(a) != len(b) || a[len(a)-1].hdr.Name != b[len(b)-1].hdr.Name {
		return false
	}
	for i := range b {
		if !b[i].reused {
			return false
		}
	}
	return true
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}
