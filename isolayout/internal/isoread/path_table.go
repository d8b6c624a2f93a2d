package isoread

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// readPathTables reads both path tables (ECMA-119 9.4) and checks them
// against the directories found by walking the tree.
func (img *Image) readPathTables(root *File, lLBA, mLBA, size uint32, dirs map[uint32]*File, pad func(string) string) ([]PathEntry, error) {
	read := func(lba uint32, order binary.ByteOrder) ([]PathEntry, error) {
		b, err := img.read(int64(lba)*sectorSize, int(size))
		if err != nil {
			return nil, err
		}
		var out []PathEntry
		for len(b) > 0 {
			if len(b) < 8 {
				return nil, errors.New("path table: short record")
			}
			n := int(b[0])
			rl := 8 + n + n%2
			if n == 0 || rl > len(b) {
				return nil, errors.New("path table: bad record")
			}
			out = append(out, PathEntry{Ident: string(b[8 : 8+n]), LBA: order.Uint32(b[2:]), Parent: order.Uint16(b[6:])})
			b = b[rl:]
		}
		return out, nil
	}
	l, err := read(lLBA, binary.LittleEndian)
	if err != nil {
		return nil, err
	}
	m, err := read(mLBA, binary.BigEndian)
	if err != nil {
		return nil, err
	}
	if fmt.Sprint(l) != fmt.Sprint(m) {
		return nil, errors.New("path tables: type L and type M differ")
	}
	if len(l) != len(dirs) {
		return nil, fmt.Errorf("path table has %d directories, tree %d", len(l), len(dirs))
	}
	if l[0].Ident != "\x00" || l[0].Parent != 1 || l[0].LBA != root.Extents[0].LBA {
		return nil, errors.New("path table: bad root")
	}
	level := map[int]int{1: 1}
	for i := 1; i < len(l); i++ {
		e, prev := l[i], l[i-1]
		if int(e.Parent) < 1 || int(e.Parent) > i {
			return nil, fmt.Errorf("path table %d: parent %d", i+1, e.Parent)
		}
		level[i+1] = level[int(e.Parent)] + 1
		if level[i+1] < level[i] {
			return nil, fmt.Errorf("path table %d: level order", i+1)
		}
		if level[i+1] == level[i] && i > 1 && (e.Parent < prev.Parent || e.Parent == prev.Parent && pad(e.Ident) <= pad(prev.Ident)) {
			return nil, fmt.Errorf("path table %d: order", i+1)
		}
		d := dirs[e.LBA]
		if d == nil || d.ISOName != e.Ident {
			return nil, fmt.Errorf("path table %d: %q at %d is no such directory", i+1, e.Ident, e.LBA)
		}
		pd := dirs[l[e.Parent-1].LBA]
		found := false
		for _, c := range pd.Children {
			found = found || c == d
		}
		if !found {
			return nil, fmt.Errorf("path table %d: %q is not a child of entry %d", i+1, e.Ident, e.Parent)
		}
	}
	return l, nil
}

// isoPad pads a d-character identifier with spaces as ECMA-119 6.9.1
// compares them.
func isoPad(id string) string { return fmt.Sprintf("%-31s", id) }

// ucs2Order orders UCS-2 big-endian identifiers by code unit.
func ucs2Order(id string) string { return id }
