package isolayout

import (
	"cmp"
	"slices"

	"github.com/liveiso/liveiso/extent"
)

// Layout is a planned image: immutable, and safe for concurrent reads.
type Layout struct {
	extents  *extent.List // in image order
	files    int
	warnings []string
}

// Size is the image size in bytes: the volume space size times SectorSize.
func (l *Layout) Size() int64 { return l.extents.Size() }

// Extents returns the extents in image order. Every extent starts at the
// beginning of its sector but the backup GPT, which starts less than a
// sector into it.
func (l *Layout) Extents() []extent.Extent { return l.extents.Extents() }

// Files is the number of regular files in the image: those of the input
// tree and the boot catalog the planner adds.
func (l *Layout) Files() int { return l.files }

// Warnings are what the image could not record as given, one line per
// name: a name the Joliet tree holds shortened or changed, or a node it
// leaves out. The primary tree and Rock Ridge hold everything.
func (l *Layout) Warnings() []string { return l.warnings }

// ReadAt reads the image. Bytes not covered by an extent are zeros.
func (l *Layout) ReadAt(p []byte, off int64) (int, error) { return l.extents.ReadAt(p, off) }

// plan is an image on its way from the input to a Layout: the tree in its
// order, the boot files, and once assignSectors has run, the sector map.
type plan struct {
	in        Input
	tree      *tree
	boot      *bootPlan // nil without El Torito
	files     []*pnode  // regular files in the order of their data
	caBytes   int64     // the continuation-area region
	pathTable []pathTableRecord
	ptBytes   int64
	joliet    *jolietTree // nil without Joliet
	sectors   sectorMap
}

// Plan places in's tree in an image. It does no I/O and reads no source.
// It validates the input, orders the tree, lays out the directory records,
// assigns sectors (a pure function of the sizes) and then encodes the
// generated structures for the finished sector map.
func Plan(in Input) (*Layout, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	root, err := adopt(in.Root, in.Date)
	if err != nil {
		return nil, err
	}
	p := &plan{in: in}
	var bootFiles []*pnode
	if in.ElTorito != nil {
		if p.boot, err = planBoot(root, in.ElTorito, in.Date); err != nil {
			return nil, err
		}
		bootFiles = p.boot.files()
	}
	if p.tree, err = order(root); err != nil {
		return nil, err
	}
	p.caBytes = p.tree.planRecords()
	p.pathTable, p.ptBytes = p.tree.pathTable()
	p.files = p.tree.files(bootFiles)
	if in.Joliet != nil {
		if p.joliet, err = planJoliet(p.tree, in.Joliet); err != nil {
			return nil, err
		}
	}
	if p.sectors, err = assignSectors(p.request()); err != nil {
		return nil, err
	}
	p.setLBAs()
	extents, err := p.encode()
	if err != nil {
		return nil, err
	}
	// The system area and the backup GPT were encoded out of order.
	slices.SortFunc(extents, func(a, b extent.Extent) int { return cmp.Compare(a.Offset, b.Offset) })
	list, err := extent.New(int64(p.sectors.volumeSectors)*SectorSize, extents)
	if err != nil {
		return nil, err
	}
	l := &Layout{extents: list, files: len(p.files)}
	if p.joliet != nil {
		l.warnings = p.joliet.warnings
	}
	return l, nil
}

// request is the plan's sizes, for assignSectors.
func (p *plan) request() sectorRequest {
	r := sectorRequest{
		bootRecord:        p.boot != nil,
		pathTableBytes:    p.ptBytes,
		dirBytes:          make([]int64, len(p.tree.dirs)),
		continuationBytes: p.caBytes,
		fileBytes:         make([]int64, len(p.files)),
		backupGPT:         p.in.Hybrid != nil && p.boot.esp != nil,
	}
	for i, d := range p.tree.dirs {
		r.dirBytes[i] = d.dirBytes
	}
	if j := p.joliet; j != nil {
		r.joliet, r.jolietPTBytes = true, j.ptBytes
		r.jolietDirBytes = make([]int64, len(j.dirs))
		for i, d := range j.dirs {
			r.jolietDirBytes[i] = d.dirBytes
		}
	}
	for i, f := range p.files {
		r.fileBytes[i] = f.size
	}
	return r
}

// setLBAs copies the sector map into the tree.
func (p *plan) setLBAs() {
	for i, d := range p.tree.dirs {
		d.lba = p.sectors.dirs[i]
	}
	for i, f := range p.files {
		f.lba = p.sectors.files[i]
	}
	if j := p.joliet; j != nil {
		for i, d := range j.dirs {
			d.lba = p.sectors.jolietDirs[i]
		}
	}
}
