package isolayout

import (
	"io"

	"github.com/liveiso/liveiso/extent"
)

// encode returns the extents of the image for a plan whose sectors are
// assigned: the generated structures as bytes, the files as their sources.
// The extents are in no particular order.
func (p *plan) encode() ([]extent.Extent, error) {
	m := &p.sectors
	extents := make([]extent.Extent, 0, 8+len(p.tree.dirs)+len(p.files))
	add := func(lba uint32, name string, data []byte, src io.ReaderAt, size int64) {
		if size == 0 {
			return
		}
		extents = append(extents, extent.Extent{Offset: int64(lba) * SectorSize, SizeBytes: size, Data: data, Source: src, Name: name})
	}

	if p.in.Hybrid != nil {
		sa, err := systemArea(p.in.Hybrid, p.in.VolumeID, p.boot, uint64(m.volumeSectors), m.backupGPT)
		if err != nil {
			return nil, err
		}
		for _, e := range sa {
			extents = append(extents, extent.Extent{Offset: int64(e.lba)*SectorSize + e.offset, SizeBytes: int64(len(e.data)), Data: e.data, Name: e.name})
		}
	}

	root := p.tree.root
	pvd := primaryVolumeDescriptor{
		SystemID:        systemID,
		VolumeID:        p.in.VolumeID,
		VolumeSpaceSize: m.volumeSectors,
		PathTableSize:   uint32(p.ptBytes),
		LPathTableLBA:   m.lPathTable,
		MPathTableLBA:   m.mPathTable,
		Root:            dirRecord{ExtentLBA: root.lba, DataLength: uint32(root.dirBytes), Recorded: root.mtime, Flags: fileFlagDirectory, Identifier: identifierCurrent},
		ApplicationID:   p.in.ApplicationID,
		Created:         p.in.Date,
		Modified:        p.in.Date,
		Effective:       p.in.Date,
	}
	add(pvdLBA, "primary volume descriptor", pvd.encode(), nil, SectorSize)
	if p.boot != nil {
		br := bootRecordDescriptor{CatalogLBA: p.boot.catalog.lba}
		add(m.bootRecord, "boot record volume descriptor", br.encode(), nil, SectorSize)
	}
	if j := p.joliet; j != nil {
		svd := pvd
		svd.PathTableSize = uint32(j.ptBytes)
		svd.LPathTableLBA, svd.MPathTableLBA = m.jLPathTable, m.jMPathTable
		jroot := j.dirs[0]
		svd.Root = dirRecord{ExtentLBA: jroot.lba, DataLength: uint32(jroot.dirBytes), Recorded: root.mtime, Flags: fileFlagDirectory, Identifier: identifierCurrent}
		add(m.joliet, "joliet supplementary volume descriptor", svd.encodeSupplementary(), nil, SectorSize)
	}
	add(m.terminator, "volume descriptor set terminator", terminatorDescriptor{}.encode(), nil, SectorSize)

	for i, d := range p.tree.dirs {
		p.pathTable[i].ExtentLBA = d.lba
	}
	lTable, mTable := encodePathTables(p.pathTable, p.ptBytes)
	add(m.lPathTable, "type L path table", lTable, nil, p.ptBytes)
	add(m.mPathTable, "type M path table", mTable, nil, p.ptBytes)

	ca := make([]byte, p.caBytes)
	for _, d := range p.tree.dirs {
		add(d.lba, "directory "+pathOf(d), encodeDirectory(d, ca, m.continuation), nil, d.dirBytes)
	}
	add(m.continuation, "rock ridge continuation areas", ca, nil, p.caBytes)

	if j := p.joliet; j != nil {
		for i, d := range j.dirs {
			j.pathTable[i].ExtentLBA = d.lba
			add(d.lba, "joliet directory "+pathOf(d.node), d.encodeDirectory(), nil, d.dirBytes)
		}
		jl, jm := encodePathTables(j.pathTable, j.ptBytes)
		add(m.jLPathTable, "joliet type L path table", jl, nil, j.ptBytes)
		add(m.jMPathTable, "joliet type M path table", jm, nil, j.ptBytes)
	}

	if p.boot != nil {
		if err := p.boot.encode(); err != nil {
			return nil, err
		}
	}
	for _, f := range p.files {
		if f.data != nil {
			add(f.lba, pathOf(f), f.data, nil, f.size)
		} else {
			add(f.lba, pathOf(f), nil, f.src, f.size)
		}
	}
	return extents, nil
}

// encodeDirectory returns the extent of directory d and writes the
// continuation areas of its records into ca, the region at caLBA.
func encodeDirectory(d *pnode, ca []byte, caLBA uint32) []byte {
	buf := make([]byte, d.dirBytes)
	for i := range d.records {
		r := &d.records[i]
		dr := dirRecordOf(r, caLBA)
		dr.appendTo(buf[r.offset:r.offset])
		if r.part == 0 {
			for j, piece := range r.su.pieces {
				b := append(ca[r.su.caOff[j]:r.su.caOff[j]], piece...)
				if j < len(r.su.pieces)-1 {
					r.su.ce(j+1, caLBA).appendTo(b)
				}
			}
		}
	}
	return buf
}

// dirRecordOf is the directory record r, for a node whose LBA is known.
func dirRecordOf(r *record, caLBA uint32) dirRecord {
	dr := dataRecord(r.node, r.ident(), r.part, r.parts)
	su := make([]byte, 0, r.su.inlineLen())
	su = append(su, r.su.inline...)
	if len(r.su.pieces) > 0 {
		su = r.su.ce(0, caLBA).appendTo(su)
	}
	dr.SystemUse = su
	return dr
}

// dataRecord is the record of part of node n, whose LBA is known, under
// identifier ident, without System Use: where its data is, how long, when.
// The primary and the Joliet hierarchy share it.
func dataRecord(n *pnode, ident []byte, part, parts int) dirRecord {
	dr := dirRecord{Identifier: ident, Recorded: n.mtime}
	switch {
	case n.mode.IsDir():
		dr.Flags = fileFlagDirectory
		dr.ExtentLBA, dr.DataLength = n.lba, uint32(n.dirBytes)
	case n.mode.IsRegular():
		start := int64(part) * maxExtentBytes
		dr.ExtentLBA = n.lba + uint32(start/SectorSize)
		dr.DataLength = uint32(min(n.size-start, maxExtentBytes))
		if part < parts-1 {
			dr.Flags = fileFlagMultiExtent
		}
	}
	return dr
}
