package isoread

import (
	"fmt"
	"slices"
	"unicode/utf16"
)

// The Joliet hierarchy: ECMA-119 8.5 and 9.1 with identifiers in UCS-2
// big-endian (Joliet specification, 1995).

// joliet forbids these characters in identifiers, with the controls.
const jolietForbidden = "*/:;?\\"

func decodeUCS2(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("UCS-2 field of odd length %d", len(b))
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		if u[i] >= 0xD800 && u[i] <= 0xDFFF {
			return "", fmt.Errorf("surrogate %#04x in UCS-2", u[i])
		}
	}
	return string(utf16.Decode(u)), nil
}

func (img *Image) readJoliet(root []byte, lLBA, mLBA, ptSize uint32) error {
	rec, err := parseRecord(root)
	if err != nil {
		return fmt.Errorf("root record: %w", err)
	}
	img.Joliet = &File{ISOName: "\x00", IsDir: true, Extents: rec.extents, Size: int64(rec.dataLen)}
	dirs := map[uint32]*File{}
	if err := img.readJolietDir(img.Joliet, img.Joliet, dirs); err != nil {
		return err
	}
	img.JolietPathTable, err = img.readPathTables(img.Joliet, lLBA, mLBA, ptSize, dirs, ucs2Order)
	return err
}

func (img *Image) readJolietDir(dir, parent *File, dirs map[uint32]*File) error {
	recs, offs, err := img.dirRecords(dir, dirs)
	if err != nil {
		return err
	}
	for i, rec := range recs {
		if len(rec.su) != 0 {
			return fmt.Errorf("%s: record at %d: system use in a Joliet record", dir.Name, offs[i])
		}
	}
	if len(recs) < 2 || recs[0].ident != "\x00" || recs[1].ident != "\x01" {
		return fmt.Errorf("%s: no . and .. records", dir.Name)
	}
	if recs[0].extents[0] != dir.Extents[0] || recs[1].extents[0] != parent.Extents[0] {
		return fmt.Errorf("%s: . or .. points elsewhere", dir.Name)
	}
	dir.Recorded = recs[0].recorded
	prev := ""
	for i := 2; i < len(recs); i++ {
		rec := recs[i]
		name, err := decodeUCS2([]byte(rec.ident))
		if err != nil {
			return fmt.Errorf("%s: %w", dir.Name, err)
		}
		if name == "" || slices.ContainsFunc([]rune(name), func(r rune) bool { return r < 0x20 || containsRune(jolietForbidden, r) }) {
			return fmt.Errorf("%s: Joliet name %q", dir.Name, name)
		}
		f := &File{ISOName: rec.ident, Name: name, IsDir: rec.flags&2 != 0, Recorded: rec.recorded, Extents: rec.extents, Size: int64(rec.dataLen)}
		for rec.flags&0x80 != 0 {
			i++
			if i == len(recs) || recs[i].ident != rec.ident {
				return fmt.Errorf("%s: multi-extent file without final record", name)
			}
			rec = recs[i]
			f.Extents = append(f.Extents, rec.extents...)
			f.Size += int64(rec.dataLen)
		}
		// Ordered by code unit, as xorriso writes them (ECMA-119 9.3's
		// padding would make "a" and "a " equal).
		if prev != "" && f.ISOName <= prev {
			return fmt.Errorf("%s: records out of order or duplicate: %q after %q", dir.Name, f.Name, prev)
		}
		prev = f.ISOName
		dir.Children = append(dir.Children, f)
		if f.IsDir {
			if err := img.readJolietDir(f, dir, dirs); err != nil {
				return err
			}
		}
	}
	return nil
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}
