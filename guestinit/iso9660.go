package guestinit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// A minimal ISO 9660 reader: the volume label and a file's extent, which is
// all the init needs to find the squashfs on the medium.

const (
	sectorSize = 2048
	pvdSector  = 16 // ECMA-119 8.4: the primary volume descriptor

	// ECMA-119 8.4 Primary Volume Descriptor fields.
	pvdVolumeIDOff  = 40
	pvdVolumeIDLen  = 32
	pvdRootRecOff   = 156
	dirRecExtentOff = 2  // ECMA-119 9.1.3, both-endian: the LE half
	dirRecSizeOff   = 10 // 9.1.4
	dirRecFlagsOff  = 25 // 9.1.6
	dirRecNameLen   = 32 // 9.1.10
	dirRecName      = 33 // 9.1.11
	flagDirectory   = 2
)

var errNotISO = errors.New("no ISO 9660 primary volume descriptor")

// volumeID returns the medium's volume identifier.
func volumeID(r io.ReaderAt) (string, error) {
	pvd := make([]byte, sectorSize)
	if _, err := r.ReadAt(pvd, pvdSector*sectorSize); err != nil {
		return "", err
	}
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" {
		return "", errNotISO
	}
	return strings.TrimRight(string(pvd[pvdVolumeIDOff:pvdVolumeIDOff+pvdVolumeIDLen]), " "), nil
}

// extent is a file's bytes on the medium.
type extent struct{ off, size int64 }

// lookup finds the file at the slash-separated path, matching each
// component's ISO 9660 identifier without its version, case-insensitively
// (the names liveiso gives its own files map to themselves upper-cased).
func lookup(r io.ReaderAt, path string) (extent, error) {
	pvd := make([]byte, sectorSize)
	if _, err := r.ReadAt(pvd, pvdSector*sectorSize); err != nil {
		return extent{}, err
	}
	cur := record(pvd[pvdRootRecOff:])
	for _, name := range strings.Split(path, "/") {
		next, err := findIn(r, cur, name)
		if err != nil {
			return extent{}, fmt.Errorf("%s: %w", path, err)
		}
		cur = next
	}
	return extent{off: int64(cur.lba()) * sectorSize, size: int64(cur.size())}, nil
}

type record []byte

func (d record) lba() uint32  { return binary.LittleEndian.Uint32(d[dirRecExtentOff:]) }
func (d record) size() uint32 { return binary.LittleEndian.Uint32(d[dirRecSizeOff:]) }

// findIn reads the directory dir and returns the record named name.
func findIn(r io.ReaderAt, dir record, name string) (record, error) {
	if dir[dirRecFlagsOff]&flagDirectory == 0 {
		return nil, fmt.Errorf("not a directory before %q", name)
	}
	if dir.size() > 16<<20 {
		return nil, fmt.Errorf("directory of %d bytes", dir.size())
	}
	data := make([]byte, dir.size())
	if _, err := r.ReadAt(data, int64(dir.lba())*sectorSize); err != nil {
		return nil, err
	}
	want := strings.ToUpper(name)
	for off := 0; off < len(data); {
		n := int(data[off])
		if n == 0 { // records do not cross sectors: skip to the next one
			off = (off/sectorSize + 1) * sectorSize
			continue
		}
		if off+n > len(data) || n < dirRecName {
			return nil, errors.New("malformed directory record")
		}
		rec := record(data[off : off+n])
		l := int(rec[dirRecNameLen])
		if dirRecName+l > n {
			return nil, errors.New("malformed directory record")
		}
		id := string(rec[dirRecName : dirRecName+l])
		if i := strings.IndexByte(id, ';'); i >= 0 {
			id = id[:i]
		}
		id = strings.TrimSuffix(id, ".")
		if id == want {
			return bytes.Clone(rec), nil
		}
		off += n
	}
	return nil, fmt.Errorf("no %q", name)
}
