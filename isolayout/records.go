package isolayout

import (
	"io/fs"
	"math"
)

// maxExtentBytes is the largest extent of a multi-extent file: the Data
// Length field is 32 bits, and every extent but the last must be a whole
// number of sectors (ECMA-119 6.5.1, level 3).
const maxExtentBytes = math.MaxUint32 &^ (SectorSize - 1)

type recordKind int

const (
	recordSelf   recordKind = iota // "."
	recordParent                   // ".."
	recordEntry
)

// record is a directory record as planned: what it describes and where it
// sits in its directory's extent; encode makes it a dirRecord once LBAs are known.
type record struct {
	node   *pnode // the node the record describes (for "..", the parent)
	kind   recordKind
	part   int // extent number of a multi-extent file
	parts  int
	su     *systemUse
	offset int64 // within the directory extent
}

func (r *record) ident() []byte {
	switch r.kind {
	case recordSelf:
		return identifierCurrent
	case recordParent:
		return identifierParent
	}
	return r.node.ident
}

// continuationRegion hands out the places of Rock Ridge continuation areas
// in the one region that holds them all; an area never crosses a sector.
type continuationRegion struct {
	bytes int64 // used so far
}

func (c *continuationRegion) place(su *systemUse) {
	if len(su.pieces) == 0 {
		return
	}
	su.caOff = make([]int64, len(su.pieces))
	for i := range su.pieces {
		n := int64(su.pieceLen(i))
		if c.bytes%SectorSize+n > SectorSize {
			c.bytes += SectorSize - c.bytes%SectorSize
		}
		su.caOff[i] = c.bytes
		c.bytes += n
	}
}

// planRecords lays out the records of every directory (records never cross
// a sector boundary: ECMA-119 6.8.1.1) and the continuation areas, and
// returns the bytes of the continuation-area region.
func (t *tree) planRecords() int64 {
	var ca continuationRegion
	for _, d := range t.dirs {
		isRoot := d.parent == nil
		parent := d.parent
		if isRoot {
			parent = d
		}
		d.records = make([]record, 0, 2+len(d.children))
		d.records = append(d.records,
			record{node: d, kind: recordSelf, parts: 1},
			record{node: parent, kind: recordParent, parts: 1})
		for _, c := range d.children {
			k := c.parts()
			for part := range k {
				d.records = append(d.records, record{node: c, kind: recordEntry, part: part, parts: k})
			}
		}
		var off int64
		var shared *systemUse
		for i := range d.records {
			r := &d.records[i]
			ident := r.ident()
			if r.part == 0 {
				su := splitSystemUse(rockRidge(r.node, r.kind, isRoot && r.kind != recordEntry), systemUseRoom(len(ident)))
				ca.place(&su)
				shared = &su
			}
			r.su = shared // the extents of a multi-extent file share their entries
			dr := dirRecord{Identifier: ident}
			n := int64(dr.fixedLen() + r.su.inlineLen())
			n += n % 2
			if off%SectorSize+n > SectorSize {
				off += SectorSize - off%SectorSize
			}
			r.offset = off
			off += n
		}
		d.dirBytes = roundUp(off)
	}
	return ca.bytes
}

// rockRidge returns the SUSP entries of a record describing n: SP and ER
// only in the root's "." record (SUSP 1.12 5.3, 5.5), NM and SL only in
// the entry itself, not in "." and "..".
func rockRidge(n *pnode, kind recordKind, isRoot bool) *suspEntries {
	es := &suspEntries{buf: make([]byte, 0, 128), ends: make([]int, 0, 6)}
	if isRoot && kind == recordSelf {
		es.add(spEntry{})
	}
	links := uint32(1)
	if n.mode.IsDir() {
		links = 2 + uint32(n.subdirs)
	}
	es.add(&pxEntry{Mode: posixMode(n.mode), Links: links, UID: n.uid, GID: n.gid, Serial: n.ino})
	es.add(&tfEntry{Modify: n.mtime, Access: n.mtime, Attributes: n.mtime})
	if n.mode&fs.ModeDevice != 0 {
		es.add(&pnEntry{High: n.dev[0], Low: n.dev[1]})
	}
	if kind == recordEntry {
		nmEntries{Name: n.name}.appendTo(es)
		if n.mode&fs.ModeSymlink != 0 {
			slEntries{Target: n.target}.appendTo(es)
		}
	}
	if isRoot && kind == recordSelf {
		es.add(&erEntry{ID: rripID, Descriptor: rripDescriptor, Source: rripSource, Version: rripVersion})
	}
	return es
}
