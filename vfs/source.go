package vfs

import "io"

// Snapshot is one immutable generation of the served files. Its readers must
// be safe for concurrent use and keep working for as long as any handle holds
// the snapshot (after newer generations are published).
type Snapshot struct {
	Generation uint64
	Image      io.ReaderAt // the image's content (ImageSize bytes); beyond that up to the capacity: zeros
	ImageSize  int64
	Initrd     io.ReaderAt
	InitrdSize int64
}

// Source hands out snapshots. Its methods are called concurrently from FUSE
// request goroutines. Current is also called on the read path when a read of
// image.iso touches Options.RepinRange, so it must be cheap (an atomic load).
type Source interface {
	Current() *Snapshot // newest ready generation; nil before the first
	Capacity() int64    // size of image.iso
	Status() []byte     // contents of status.json
}

// ByteRange is the half-open byte range [Off, Off+Len) of a file.
type ByteRange struct {
	Off, Len int64
}

// overlaps reports whether r and [off, off+n) share a byte.
func (r ByteRange) overlaps(off, n int64) bool {
	return r.Len > 0 && n > 0 && off < r.Off+r.Len && r.Off < off+n
}

// readPadded fills p with the bytes at off of a file made of size bytes of r
// followed by zeros. r may be nil when size is 0.
func readPadded(r io.ReaderAt, size int64, p []byte, off int64) error {
	n := 0
	if off < size {
		n = int(min(int64(len(p)), size-off))
		got, err := r.ReadAt(p[:n], off)
		if got < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	clear(p[n:])
	return nil
}
