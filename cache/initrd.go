package cache

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/liveiso/liveiso/cache/internal/store"
	"github.com/liveiso/liveiso/extent"
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
// is concatenated in memory: it is an extent list of the members (each read
// through its own ReaderAt, which follows it from memory to the store's
// file) and the trailer; the padding is the zeros between them.
type Initrd struct {
	extents *extent.List
	stats   Stats
	mems    []Member
	// store and stored are the disk store and the members of r it holds,
	// for Retain (store.go); nil for an Initrd of Assemble.
	store  *store.Store
	stored []*member
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
	var extents []extent.Extent
	var size int64
	pad := func() { size += -size & (newc.Alignment - 1) } // zeros: a gap
	for i, m := range members {
		switch m.Compression {
		case Gzip, Zstd:
		case None:
			pad()
		default:
			return nil, fmt.Errorf("member %d: compression %q: %w", i, m.Compression, ErrBadOption)
		}
		if m.SizeBytes > 0 {
			extents = append(extents, extent.Extent{Offset: size, SizeBytes: m.SizeBytes, Source: m.Data, Name: "initrd member " + strconv.Itoa(i)})
			size += m.SizeBytes
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
		pad()
	}
	extents = append(extents, extent.Extent{Offset: size, SizeBytes: int64(len(tr)), Data: tr, Name: "initrd trailer"})
	size += int64(len(tr))
	list, err := extent.New(size, extents)
	if err != nil {
		return nil, err
	}
	return &Initrd{extents: list, mems: members}, nil
}

// trailerMember returns the trailer entry compressed with c. The bytes are
// the same every time (and must not be written to): they are made once per
// compression, since a fresh compressor for 124 bytes allocated 1.5 MB on
// every edit.
func trailerMember(c Compression) ([]byte, error) {
	switch c {
	case Gzip:
		return gzipTrailer()
	case Zstd:
		return zstdTrailer()
	}
	return compressedTrailer(c)
}

var (
	gzipTrailer = sync.OnceValues(func() ([]byte, error) { return compressedTrailer(Gzip) })
	zstdTrailer = sync.OnceValues(func() ([]byte, error) { return compressedTrailer(Zstd) })
)

func compressedTrailer(c Compression) ([]byte, error) {
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
func (r *Initrd) Size() int64 { return r.extents.Size() }

// Stats returns the counters of the Pack that made r.
func (r *Initrd) Stats() Stats { return r.stats }

// Members returns r's members in order (not the padding and trailer).
func (r *Initrd) Members() []Member { return append([]Member(nil), r.mems...) }

// ReadAt reads the initrd at off; safe for concurrent use, and r stays
// readable after later Packs.
func (r *Initrd) ReadAt(p []byte, off int64) (int, error) { return r.extents.ReadAt(p, off) }
