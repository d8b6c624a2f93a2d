package isolayout

import "encoding/binary"

// pathTableRecordFixedLen is the length of a path table record before its
// Directory Identifier (ECMA-119 9.4).
const pathTableRecordFixedLen = 8

// maxDirectories is the number of directories a path table can number: the
// Parent Directory Number field is 16 bits (ECMA-119 9.4.4).
const maxDirectories = 0xFFFF

// pathTableRecord is ECMA-119 9.4 Path Table Record. The records of a path
// table are ordered by directory level, then by the number of the parent,
// then by identifier (ECMA-119 6.9.1); the root is number 1 and is its own
// parent, with identifier 0x00.
type pathTableRecord struct {
	ExtentLBA    uint32
	ParentNumber uint16
	Identifier   []byte
}

func (r *pathTableRecord) encodedLen() int {
	return pathTableRecordFixedLen + len(r.Identifier) + len(r.Identifier)%2
}

// appendTo appends the record in the byte order of a type L (little-endian,
// ECMA-119 7.3.1) or type M (big-endian, 7.3.2) path table.
func (r *pathTableRecord) appendTo(dst []byte, order binary.AppendByteOrder) []byte {
	dst = append(dst, byte(len(r.Identifier)), 0) // Length of Directory Identifier, Extended Attribute Record Length
	dst = order.AppendUint32(dst, r.ExtentLBA)
	dst = order.AppendUint16(dst, r.ParentNumber)
	dst = append(dst, r.Identifier...)
	if len(r.Identifier)%2 == 1 {
		dst = append(dst, 0) // Padding Field
	}
	return dst
}

// pathTable is the path table's records, in path table order, without their
// LBAs, and the table's size in bytes.
func (t *tree) pathTable() ([]pathTableRecord, int64) {
	recs := make([]pathTableRecord, len(t.dirs))
	var size int64
	for i, d := range t.dirs {
		parent := 1 // the root is its own parent
		if d.parent != nil {
			parent = d.parent.number
		}
		recs[i] = pathTableRecord{ParentNumber: uint16(parent), Identifier: d.ident}
		size += int64(recs[i].encodedLen())
	}
	return recs, size
}

// encodePathTables returns the type L and type M path tables.
func encodePathTables(recs []pathTableRecord, size int64) (l, m []byte) {
	l = make([]byte, 0, size)
	m = make([]byte, 0, size)
	for i := range recs {
		l = recs[i].appendTo(l, binary.LittleEndian)
		m = recs[i].appendTo(m, binary.BigEndian)
	}
	return l, m
}
