// Package isoread is a strict, test-only ISO 9660 + Rock Ridge + El Torito
// reader. It exists to check isolayout's images independently of the code
// that wrote them, so it shares none of it: every offset here is read from
// the specifications (ECMA-119, SUSP/RRIP 1.12, El Torito 1.0) again.
package isoread

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

const sectorSize = 2048

// Image is what the reader found.
type Image struct {
	VolumeID        string
	ApplicationID   string
	VolumeSpaceSize uint32
	Created         string // the 17-byte date's 16 digits
	CatalogLBA      uint32 // 0 when there is no El Torito boot record
	Catalog         []byte // 32-byte validation entry and default entry
	Root            *File
	PathTable       []PathEntry
	Dirs            int

	// Joliet is the root of the Joliet hierarchy (nil without a Joliet
	// supplementary volume descriptor): Name is the UCS-2 name decoded,
	// ISOName the raw identifier.
	Joliet          *File
	JolietEscapes   string
	JolietPathTable []PathEntry
	JolietVolumeID  string

	r io.ReaderAt
}

// PathEntry is one path table record.
type PathEntry struct {
	Ident  string
	LBA    uint32
	Parent uint16
}

// Extent is a data extent of a file.
type Extent struct {
	LBA uint32
	Len uint32
}

// File is a directory record (or the records of a multi-extent file)
// with its Rock Ridge fields.
type File struct {
	ISOName  string
	Name     string // NM, or ISOName without version when there is no NM
	HasRR    bool
	Mode     uint32
	Nlink    uint32
	UID, GID uint32
	Ino      uint32
	Mtime    time.Time // TF modify
	Atime    time.Time
	Recorded time.Time // ECMA-119 9.1.5
	Size     int64
	Extents  []Extent
	Target   string
	Dev      [2]uint32
	HasPN    bool
	Children []*File
	IsDir    bool
}

// Read parses the image.
func Read(r io.ReaderAt, size int64) (*Image, error) {
	img := &Image{r: r}
	if size%sectorSize != 0 {
		return nil, fmt.Errorf("size %d not whole sectors", size)
	}
	var root, jRoot []byte
	var lPath, mPath, ptSize, jlPath, jmPath, jptSize uint32
	// Until the PVD says otherwise, the volume space is the image.
	img.VolumeSpaceSize = uint32(min(size/sectorSize, 0xFFFFFFFF))
	for lba := int64(16); ; lba++ {
		s, err := img.sector(uint32(lba))
		if err != nil {
			return nil, err
		}
		if string(s[1:6]) != "CD001" || s[6] != 1 {
			return nil, fmt.Errorf("sector %d: not a volume descriptor", lba)
		}
		switch s[0] {
		case 255:
			if !allZero(s[7:]) {
				return nil, errors.New("terminator: nonzero bytes")
			}
			goto done
		case 0:
			if string(bytes.TrimRight(s[7:39], "\x00")) != "EL TORITO SPECIFICATION" {
				return nil, errors.New("boot record: not El Torito")
			}
			img.CatalogLBA = binary.LittleEndian.Uint32(s[71:])
		case 1:
			if lba != 16 {
				return nil, errors.New("PVD not at 16")
			}
			var err error
			if img.VolumeSpaceSize, err = both32(s[80:88]); err != nil {
				return nil, fmt.Errorf("volume space size: %w", err)
			}
			if int64(img.VolumeSpaceSize)*sectorSize != size {
				return nil, fmt.Errorf("volume space size %d sectors, image %d bytes", img.VolumeSpaceSize, size)
			}
			for _, f := range [][]byte{s[120:124], s[124:128]} {
				if v, err := both16(f); err != nil || v != 1 {
					return nil, fmt.Errorf("volume set size/sequence: %d %v", v, err)
				}
			}
			if v, err := both16(s[128:132]); err != nil || v != sectorSize {
				return nil, fmt.Errorf("logical block size %d %v", v, err)
			}
			if ptSize, err = both32(s[132:140]); err != nil {
				return nil, err
			}
			lPath = binary.LittleEndian.Uint32(s[140:])
			mPath = binary.BigEndian.Uint32(s[148:])
			if s[156] != 34 {
				return nil, errors.New("root record length")
			}
			root = append([]byte(nil), s[156:190]...)
			img.VolumeID = string(bytes.TrimRight(s[40:72], " "))
			img.ApplicationID = string(bytes.TrimRight(s[574:702], " "))
			img.Created = string(s[813:829])
			if s[881] != 1 {
				return nil, errors.New("file structure version")
			}
		case 2:
			// ECMA-119 8.5 with the Joliet escape sequences in BP 89-91.
			esc := string(bytes.TrimRight(s[88:120], "\x00"))
			if esc != "%/@" && esc != "%/C" && esc != "%/E" {
				return nil, fmt.Errorf("supplementary volume descriptor: escape sequences %q are not Joliet's", esc)
			}
			if s[7] != 0 {
				return nil, errors.New("joliet: volume flags")
			}
			img.JolietEscapes = esc
			v, err := both32(s[80:88])
			if err != nil || int64(v)*sectorSize != size {
				return nil, fmt.Errorf("joliet: volume space size %d %v, image %d bytes", v, err, size)
			}
			if v, err := both16(s[128:132]); err != nil || v != sectorSize {
				return nil, fmt.Errorf("joliet: logical block size %d %v", v, err)
			}
			if jptSize, err = both32(s[132:140]); err != nil {
				return nil, err
			}
			jlPath = binary.LittleEndian.Uint32(s[140:])
			jmPath = binary.BigEndian.Uint32(s[148:])
			if s[156] != 34 {
				return nil, errors.New("joliet: root record length")
			}
			jRoot = append([]byte(nil), s[156:190]...)
			if img.JolietVolumeID, err = decodeUCS2(s[40:72]); err != nil {
				return nil, fmt.Errorf("joliet volume id: %w", err)
			}
			img.JolietVolumeID = strings.TrimRight(img.JolietVolumeID, " ")
		default:
			return nil, fmt.Errorf("sector %d: volume descriptor type %d", lba, s[0])
		}
	}
done:
	if root == nil {
		return nil, errors.New("no PVD")
	}
	if img.CatalogLBA != 0 {
		s, err := img.sector(img.CatalogLBA)
		if err != nil {
			return nil, err
		}
		img.Catalog = s[:64]
	}
	rec, err := parseRecord(root)
	if err != nil {
		return nil, fmt.Errorf("root record: %w", err)
	}
	img.Root = &File{ISOName: "\x00", Name: "", IsDir: true, Extents: rec.extents, Size: int64(rec.dataLen)}
	dirsByLBA := map[uint32]*File{}
	if err := img.readDir(img.Root, img.Root, true, dirsByLBA); err != nil {
		return nil, err
	}
	img.Dirs = len(dirsByLBA)
	if img.PathTable, err = img.readPathTables(img.Root, lPath, mPath, ptSize, dirsByLBA, isoPad); err != nil {
		return nil, err
	}
	if jRoot != nil {
		if err := img.readJoliet(jRoot, jlPath, jmPath, jptSize); err != nil {
			return nil, fmt.Errorf("joliet: %w", err)
		}
	}
	return img, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func both16(b []byte) (uint16, error) {
	l, m := binary.LittleEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	if l != m {
		return 0, fmt.Errorf("both-endian mismatch %d/%d", l, m)
	}
	return l, nil
}

func both32(b []byte) (uint32, error) {
	l, m := binary.LittleEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	if l != m {
		return 0, fmt.Errorf("both-endian mismatch %d/%d", l, m)
	}
	return l, nil
}

// read reads n bytes at off, which must lie inside the volume space: a
// length read from the image is never trusted to size an allocation.
func (img *Image) read(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off+int64(n) > int64(img.VolumeSpaceSize)*sectorSize {
		return nil, fmt.Errorf("bytes %d+%d beyond volume space of %d sectors", off, n, img.VolumeSpaceSize)
	}
	b := make([]byte, n)
	if _, err := img.r.ReadAt(b, off); err != nil && !(err == io.EOF) {
		return nil, err
	}
	return b, nil
}

func (img *Image) sector(lba uint32) ([]byte, error) {
	return img.read(int64(lba)*sectorSize, sectorSize)
}
