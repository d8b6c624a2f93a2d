package cache

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/newc"
	"github.com/liveiso/liveiso/rootfs"
)

// item is one entry of the archive with everything the encoder decided about
// it: its header (inode number, link count, owner) and where its data comes
// from. Items are built for the whole tree before chunking, so every decision
// that spans chunks (hard-link groups) is made once.
type item struct {
	e       *rootfs.Entry // the scanned entry, or a synthetic one
	hdr     newc.Header
	content []byte // a synthetic regular file's data; nil: read e from the rootfs
	synth   bool   // not from the rootfs (/init, /dev, /dev/console)
	// reused says the item is the last Pack's item of an equal entry, with
	// the same header (see items): a chunk of such items only may be the
	// last Pack's chunk again (see unchanged).
	reused bool
	hash   uint64 // pathHash of the path: chunk cuts and inode numbers
}

// fromTree reports whether the item's data is read from the rootfs.
func (it *item) fromTree() bool {
	return !it.synth && it.hdr.Mode&newc.TypeMask == newc.TypeReg && it.hdr.Size > 0
}

// encodedLen is the number of bytes the item takes in the archive: header,
// name, padding, data, padding.
func (it *item) encodedLen() int64 {
	return int64(it.hdr.EncodedLen()) + it.hdr.Size + int64(it.hdr.DataPadding())
}

// header returns the newc header of e before hard-link decisions (Ino and
// Nlink are set by assignInodes). A size of 4 GiB or more or a name longer
// than PATH_MAX is an error naming the path.
func header(e *rootfs.Entry, rootOwner bool) (newc.Header, error) {
	h := newc.Header{
		Name:  e.Path,
		Mode:  e.Mode,
		UID:   e.UID,
		GID:   e.GID,
		Nlink: 1,
		Mtime: clampMtime(e.MtimeNs),
	}
	if rootOwner {
		h.UID, h.GID = 0, 0
	}
	switch e.Mode & newc.TypeMask {
	case newc.TypeReg:
		h.Size = e.Size
	case newc.TypeSymlink:
		h.Size = int64(len(e.Target))
	case newc.TypeDir:
		h.Nlink = e.Nlink
	case newc.TypeChar, newc.TypeBlock:
		h.RdevMajor, h.RdevMinor = unix.Major(e.Rdev), unix.Minor(e.Rdev)
	}
	// c_devmajor/c_devminor stay 0: inode numbers are assigned for the
	// archive (assignInodes), so the host device says nothing.
	if err := h.Validate(); err != nil {
		return h, fmt.Errorf("entry %s: %w", e.Path, err)
	}
	return h, nil
}

// clampMtime converts nanoseconds to the seconds of c_mtime, a 32-bit
// unsigned field: times before 1970 become 0 and times after 2106 its
// maximum, rather than failing the whole archive for one odd timestamp.
func clampMtime(ns int64) int64 {
	s := ns / 1e9
	if ns < 0 && ns%1e9 != 0 {
		s-- // floor
	}
	return max(0, min(s, newc.MaxSize))
}
