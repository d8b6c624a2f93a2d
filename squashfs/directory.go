package squashfs

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DirHeader starts a run of directory entries whose inodes are in one
// metadata block (struct squashfs_dir_header).
type DirHeader struct {
	Count       uint32 // entries in the run, 1..DirCount
	StartBlock  uint32 // the inodes' metadata block, relative to the inode table
	InodeNumber uint32 // base the entries' numbers are relative to
}

// DirHeaderSize is the encoded size of DirHeader.
const DirHeaderSize = 12

// Append appends the header to b; count is stored minus one.
func (h *DirHeader) Append(b []byte) []byte {
	le := binary.LittleEndian
	b = le.AppendUint32(b, h.Count-1)
	b = le.AppendUint32(b, h.StartBlock)
	return le.AppendUint32(b, h.InodeNumber)
}

// DirEntry is one name of a directory (struct squashfs_dir_entry).
type DirEntry struct {
	Offset    uint16 // the inode's offset in the header's metadata block
	InodeDiff int16  // inode number minus the header's
	Type      uint16 // basic type (TypeDir ... TypeSocket)
	Name      string // 1..NameLen bytes
}

// DirEntrySize is the encoded size of a DirEntry without its name.
const DirEntrySize = 8

// Append appends the entry to b; the name's size is stored minus one.
func (e *DirEntry) Append(b []byte) []byte {
	le := binary.LittleEndian
	b = le.AppendUint16(b, e.Offset)
	b = le.AppendUint16(b, uint16(e.InodeDiff))
	b = le.AppendUint16(b, e.Type)
	b = le.AppendUint16(b, uint16(len(e.Name)-1))
	return append(b, e.Name...)
}

// Child is what a directory listing needs of one entry.
type Child struct {
	Name   string
	Type   uint16 // basic type
	Number uint32 // inode number
	Ref    InodeRef
}

// AppendListing appends the listing of a directory whose entries are
// children, sorted by name bytes: a new header whenever the inode's
// metadata block changes, DirCount entries have been written, or the inode
// number is too far from the header's for 16 bits, as the kernel and
// unsquashfs require.
func AppendListing(b []byte, children []Child) ([]byte, error) {
	for i := 0; i < len(children); {
		first := &children[i]
		j := i + 1
		for j < len(children) && j-i < DirCount {
			c := &children[j]
			d := int64(c.Number) - int64(first.Number)
			if c.Ref.Block() != first.Ref.Block() || d < math.MinInt16 || d > math.MaxInt16 {
				break
			}
			j++
		}
		h := DirHeader{Count: uint32(j - i), StartBlock: first.Ref.Block(), InodeNumber: first.Number}
		b = h.Append(b)
		for k := i; k < j; k++ {
			c := &children[k]
			if len(c.Name) == 0 || len(c.Name) > NameLen {
				return b, fmt.Errorf("%w: name %q of %d bytes (1..%d)", ErrLimit, c.Name, len(c.Name), NameLen)
			}
			if k > 0 && children[k-1].Name >= c.Name {
				return b, fmt.Errorf("squashfs: directory entries not sorted: %q after %q", c.Name, children[k-1].Name)
			}
			e := DirEntry{Offset: c.Ref.Offset(), InodeDiff: int16(int64(c.Number) - int64(first.Number)), Type: c.Type, Name: c.Name}
			b = e.Append(b)
		}
		i = j
	}
	return b, nil
}
