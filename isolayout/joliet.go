package isolayout

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// Joliet asks for a Joliet supplementary volume descriptor and directory
// hierarchy beside the primary one: the names Windows and macOS show.
// Both hierarchies describe the same file extents.
type Joliet struct {
	// Long allows names of up to JolietLongChars characters instead of
	// JolietChars (xorriso's -joliet-long).
	Long bool
}

func (j *Joliet) maxChars() int {
	if j.Long {
		return JolietLongChars
	}
	return JolietChars
}

// jdir is a directory of the Joliet hierarchy: the same directory as its
// node, with Joliet names, its own order, path table number and extent.
type jdir struct {
	node     *pnode
	parent   *jdir
	ident    []byte
	entries  []jentry // in identifier order
	number   int
	records  []jrecord
	dirBytes int64
	lba      uint32
}

// jentry is a node in a Joliet directory.
type jentry struct {
	node  *pnode
	ident []byte
	dir   *jdir // directories
}

// jrecord is a Joliet directory record as planned.
type jrecord struct {
	node   *pnode
	dir    *jdir // the directory the record describes; nil for files
	ident  []byte
	part   int
	parts  int
	offset int64
}

// jolietTree is the Joliet hierarchy: its directories in path table order,
// and what could not be stored as it is.
type jolietTree struct {
	dirs      []*jdir
	pathTable []pathTableRecord
	ptBytes   int64
	warnings  []string
}

// planJoliet builds the Joliet hierarchy of an ordered tree and lays out
// its directory records. Joliet holds directories and regular files:
// symlinks and special files exist only in Rock Ridge, as with xorriso.
func planJoliet(t *tree, j *Joliet) (*jolietTree, error) {
	jt := &jolietTree{}
	root := &jdir{node: t.root, ident: identifierCurrent}
	jt.dirs = append(jt.dirs, root)
	var names []string
	var isDir []bool
	for i := 0; i < len(jt.dirs); i++ {
		d := jt.dirs[i]
		d.number = i + 1
		if d.number > maxDirectories {
			return nil, ErrTooManyDirectories
		}
		// By Linux name, so that which of two colliding names gets the
		// lower number does not depend on their ISO 9660 names.
		kept := slices.SortedFunc(slices.Values(d.node.children), func(a, b *pnode) int { return strings.Compare(a.name, b.name) })
		kept = slices.DeleteFunc(kept, func(c *pnode) bool {
			if c.mode.IsDir() || c.mode.IsRegular() {
				return false
			}
			jt.warnings = append(jt.warnings, fmt.Sprintf("joliet: %s: a %s, left out of the Joliet tree (Joliet has only files and directories; Rock Ridge readers see it)", pathOf(c), kindOf(c.mode)))
			return true
		})
		names, isDir = names[:0], isDir[:0]
		for _, c := range kept {
			names = append(names, c.name)
			isDir = append(isDir, c.mode.IsDir())
		}
		jnames := uniqueJolietNames(names, isDir, j.maxChars())
		d.entries = make([]jentry, len(kept))
		for k, c := range kept {
			d.entries[k] = jentry{node: c, ident: jnames[k].identifier()}
			if jnames[k].reason != "" {
				jt.warnings = append(jt.warnings, fmt.Sprintf("joliet: %s: stored as %q: %s", pathOf(c), jnames[k].String(), jnames[k].reason))
			}
		}
		// Identifiers are UCS-2 big-endian: byte order is code unit order.
		slices.SortFunc(d.entries, func(a, b jentry) int { return compareBytes(a.ident, b.ident) })
		for k := range d.entries {
			e := &d.entries[k]
			if e.node.mode.IsDir() {
				e.dir = &jdir{node: e.node, parent: d, ident: e.ident}
				jt.dirs = append(jt.dirs, e.dir)
			}
		}
	}
	jt.planRecords()
	jt.pathTable, jt.ptBytes = jt.makePathTable()
	return jt, nil
}

func compareBytes(a, b []byte) int { return slices.Compare(a, b) }

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// planRecords lays out the records of every Joliet directory; like the
// primary ones they never cross a sector (ECMA-119 6.8.1.1). They carry
// no System Use field, so their sizes depend on names alone.
func (jt *jolietTree) planRecords() {
	for _, d := range jt.dirs {
		parent := d.parent
		if parent == nil {
			parent = d
		}
		d.records = make([]jrecord, 0, 2+len(d.entries))
		d.records = append(d.records,
			jrecord{node: d.node, dir: d, ident: identifierCurrent, parts: 1},
			jrecord{node: parent.node, dir: parent, ident: identifierParent, parts: 1})
		for _, e := range d.entries {
			k := e.node.parts()
			for part := range k {
				d.records = append(d.records, jrecord{node: e.node, dir: e.dir, ident: e.ident, part: part, parts: k})
			}
		}
		var off int64
		for i := range d.records {
			r := &d.records[i]
			n := int64((&dirRecord{Identifier: r.ident}).encodedLen())
			if off%SectorSize+n > SectorSize {
				off += SectorSize - off%SectorSize
			}
			r.offset = off
			off += n
		}
		d.dirBytes = roundUp(off)
	}
}

// makePathTable is the Joliet path table (ECMA-119 9.4, with UCS-2
// identifiers), without LBAs.
func (jt *jolietTree) makePathTable() ([]pathTableRecord, int64) {
	recs := make([]pathTableRecord, len(jt.dirs))
	var size int64
	for i, d := range jt.dirs {
		parent := 1
		if d.parent != nil {
			parent = d.parent.number
		}
		recs[i] = pathTableRecord{ParentNumber: uint16(parent), Identifier: d.ident}
		size += int64(recs[i].encodedLen())
	}
	return recs, size
}

// encodeDirectory returns the extent of Joliet directory d.
func (d *jdir) encodeDirectory() []byte {
	buf := make([]byte, d.dirBytes)
	for i := range d.records {
		r := &d.records[i]
		dr := dataRecord(r.node, r.ident, r.part, r.parts)
		if r.dir != nil {
			dr.ExtentLBA, dr.DataLength = r.dir.lba, uint32(r.dir.dirBytes)
		}
		dr.appendTo(buf[r.offset:r.offset])
	}
	return buf
}

// jolietEscapes is the Escape Sequences field (ECMA-119 8.5.6) of a Joliet
// supplementary volume descriptor: "%/@", "%/C" and "%/E" name UCS-2
// levels 1, 2 and 3 (Joliet specification, "Supplementary Volume
// Descriptor"). Level 3 allows every UCS-2 character, combining ones
// included, as xorriso records it.
var jolietEscapes = []byte("%/E")

// appendUCS2Padded appends s (printable ASCII: the identifiers liveiso
// records) as UCS-2 big-endian in an n-byte field, padded with UCS-2
// spaces; the last byte of a field of odd length stays zero.
func appendUCS2Padded(dst []byte, s string, n int) []byte {
	chars := n / 2
	for i := range chars {
		c := byte(' ')
		if i < len(s) {
			c = s[i]
		}
		dst = append(dst, 0, c)
	}
	if n%2 == 1 {
		dst = append(dst, 0)
	}
	return dst
}

// encodeSupplementary returns the Joliet supplementary volume descriptor
// (ECMA-119 8.5): the primary's fields, with the Joliet hierarchy's root
// and path tables, identifiers in UCS-2.
func (d *primaryVolumeDescriptor) encodeSupplementary() []byte {
	return d.encodeAs(vdTypeSupplement, jolietEscapes, appendUCS2Padded)
}
