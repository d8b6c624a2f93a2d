package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/liveiso/liveiso/newc"
)

// Initrd layout.
//
// The initrd is the members in order, then exactly one trailer:
//
//   - A compressed member (gzip, zstd) starts wherever the previous segment
//     ended: the kernel's unpacker (init/initramfs.c, unpack_to_rootfs)
//     recognises a compressed member by its magic at any offset, and host
//     `gzip -dc`/`zstd -dc` read concatenated members but stop at zero
//     padding between them, so none is put there.
//   - An uncompressed segment (a none member, or the trailer when it is not
//     compressed) starts 4-byte aligned: the unpacker only takes a "070701"
//     for a header at an offset that is a multiple of 4 (this_header & 3).
//     Zero padding before it does that; the unpacker skips zeros between
//     segments. Between two uncompressed members no padding is needed:
//     entries are padded to 4 bytes.
//   - The trailer (TRAILER!!!, which frees the kernel's hard-link table, so
//     it must come once and last) is compressed like the last member, as a
//     member of its own: with a single compression throughout, gzip -dc or
//     zstd -dc of the initrd is one valid cpio archive ending in its
//     trailer, which a raw trailer after gzip members would not be (gzip
//     calls it trailing garbage).
//
// Each member holds whole entries, so the unpacker's state machine is at an
// entry boundary when a member ends, as it requires ("junk at the end of
// compressed archive" otherwise).

// Initrd is an immutable initramfs image: an io.ReaderAt over the members
// of one Pack plus the padding and trailer between and after them. Nothing
// is concatenated in memory; a read is a binary search over segments.
type Initrd struct {
	segs  []segment
	size  int64
	stats Stats
	mems  []Member
}

// segment is a run of the initrd: a member, or padding / trailer bytes.
type segment struct {
	off  int64
	size int64
	src  io.ReaderAt
}

// Member is one member of an initrd, as Assemble takes it and
// Initrd.Members returns it.
type Member struct {
	Compression Compression
	SizeBytes   int64
	Data        io.ReaderAt // SizeBytes bytes: a gzip member, a zstd frame, or newc entries
}

// Assemble lays members out as an initrd (see the layout above): padding
// where an uncompressed member needs alignment, and one trailer, compressed
// like the last member. Each member must hold whole newc entries and no
// trailer. Members may use different compressions (the kernel accepts a mix;
// host tools then cannot read the result in one pass). Pack uses it; it is
// exported to build such mixed initrds, e.g. for boot tests.
func Assemble(members []Member) (*Initrd, error) {
	r := &Initrd{mems: members}
	for i, m := range members {
		switch m.Compression {
		case Gzip, Zstd:
		case None:
			r.pad()
		default:
			return nil, fmt.Errorf("member %d: compression %q: %w", i, m.Compression, ErrBadOption)
		}
		if m.SizeBytes > 0 {
			r.segs = append(r.segs, segment{off: r.size, size: m.SizeBytes, src: m.Data})
			r.size += m.SizeBytes
		}
	}
	last := Gzip
	if len(members) > 0 {
		last = members[len(members)-1].Compression
	}
	tr, err := trailerMember(last)
	if err != nil {
		return nil, err
	}
	if last == None {
		r.pad()
	}
	r.segs = append(r.segs, segment{off: r.size, size: int64(len(tr)), src: bytes.NewReader(tr)})
	r.size += int64(len(tr))
	return r, nil
}

// pad appends zeros up to the next 4-byte boundary.
func (r *Initrd) pad() {
	if n := -r.size & (newc.Alignment - 1); n > 0 {
		r.segs = append(r.segs, segment{off: r.size, size: n, src: bytes.NewReader(make([]byte, n))})
		r.size += n
	}
}

// trailerMember returns the trailer entry compressed with c.
func trailerMember(c Compression) ([]byte, error) {
	raw := newc.AppendTrailer(nil)
	var b bytes.Buffer
	switch c {
	case None:
		return raw, nil
	case Gzip:
		w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		w.Write(raw)
		if err := w.Close(); err != nil {
			return nil, err
		}
	case Zstd:
		w, err := zstd.NewWriter(&b, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		w.Write(raw)
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// Size returns the initrd's size in bytes.
func (r *Initrd) Size() int64 { return r.size }

// Stats returns the counters of the Pack that made r.
func (r *Initrd) Stats() Stats { return r.stats }

// Members returns r's members in order (not the padding and trailer).
func (r *Initrd) Members() []Member { return append([]Member(nil), r.mems...) }

// ReadAt reads the initrd at off; safe for concurrent use, and r stays
// readable after later Packs.
func (r *Initrd) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("initrd: negative offset")
	}
	if off >= r.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	i := sort.Search(len(r.segs), func(i int) bool { return r.segs[i].off+r.segs[i].size > off }) // first segment ending after off
	n := 0
	for n < len(p) && i < len(r.segs) {
		s := r.segs[i]
		rel := off + int64(n) - s.off
		want := min(int64(len(p)-n), s.size-rel)
		k, err := s.src.ReadAt(p[n:n+int(want)], rel)
		n += k
		if k < int(want) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("initrd: read at %d: %w", off+int64(n), err)
		}
		i++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
