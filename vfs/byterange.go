package vfs

import "io"

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
