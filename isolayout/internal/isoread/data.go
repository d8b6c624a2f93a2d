package isoread

import (
	"fmt"
)

// Data reads a file's contents through its extents.
func (img *Image) Data(f *File) ([]byte, error) {
	var out []byte
	for _, e := range f.Extents {
		if e.Len == 0 {
			continue
		}
		if int64(e.LBA)*sectorSize+int64(e.Len) > int64(img.VolumeSpaceSize)*sectorSize {
			return nil, fmt.Errorf("%s: extent beyond volume", f.Name)
		}
		b, err := img.read(int64(e.LBA)*sectorSize, int(e.Len))
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// DataAt reads n bytes of a file's contents at offset off, through its
// extents: for files too large to read whole.
func (img *Image) DataAt(f *File, off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off+int64(n) > f.Size {
		return nil, fmt.Errorf("%s: bytes %d+%d of a %d-byte file", f.Name, off, n, f.Size)
	}
	out := make([]byte, 0, n)
	for _, e := range f.Extents {
		if len(out) == n {
			break
		}
		if off >= int64(e.Len) {
			off -= int64(e.Len)
			continue
		}
		k := min(int64(e.Len)-off, int64(n-len(out)))
		b, err := img.read(int64(e.LBA)*sectorSize+off, int(k))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		out = append(out, b...)
		off = 0
	}
	return out, nil
}
