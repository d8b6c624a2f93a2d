package squashroot

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/extent"
	"github.com/liveiso/liveiso/rootfs"
	"github.com/liveiso/liveiso/squashfs"
)

const (
	squashfsTypeMask = unix.S_IFMT
	sIFREG           = unix.S_IFREG
	sIFDIR           = unix.S_IFDIR
	sIFLNK           = unix.S_IFLNK
	sIFCHR           = unix.S_IFCHR
	sIFBLK           = unix.S_IFBLK
	sIFIFO           = unix.S_IFIFO
	sIFSOCK          = unix.S_IFSOCK
)

// Image layout, as mksquashfs lays it out and the kernel checks it (each
// table must end before the next begins, the id table's blocks right before
// its index):
//
//	superblock | data blocks | inode table | directory table | id table blocks, id index | zeros to 4 KiB
//
// Data blocks are the files' in tree order, so an edit that changes a
// file's stored size moves the data after it, never the superblock.

// node is one inode of the image being planned.
type node struct {
	e        *rootfs.Entry
	children []int32 // directories: entry indexes, sorted by name (tree order)
	number   uint32
	ref      squashfs.InodeRef
	written  bool
	nlink    uint32 // links in the image (hard links: paths sharing the inode)
	leader   int32  // hard links: the entry index whose inode this is; -1 otherwise
	subdirs  uint32
}

// planner holds what plan computes.
type planner struct {
	tree    *rootfs.Tree
	opts    *Options
	data    []*fileData // by entry
	nodes   []node
	ids     map[uint32]uint16
	dataPos []uint64 // by entry (leaders): the start of its data blocks
	inodes  *squashfs.MetadataWriter
	dirs    *squashfs.MetadataWriter
	next    uint32 // next inode number
	buf     []byte
}

// plan lays out the image of tree whose regular files' data is in data.
// It does no I/O.
func plan(tree *rootfs.Tree, data []*fileData, opts *Options, sp *spool) (*Image, error) {
	if len(tree.Entries()) == 0 || tree.Entries()[0].Path != "." {
		return nil, fmt.Errorf("squashfs of %s: tree has no root entry", tree.Root)
	}
	p := &planner{tree: tree, opts: opts, data: data, nodes: make([]node, len(tree.Entries())), dataPos: make([]uint64, len(tree.Entries()))}
	if err := p.link(); err != nil {
		return nil, err
	}
	if err := p.assignIDs(); err != nil {
		return nil, err
	}
	// Data, in tree order.
	nExtents := 2
	for _, d := range data {
		if d != nil {
			nExtents += len(d.segs)
		}
	}
	extents := make([]extent.Extent, 1, nExtents)
	extents[0] = extent.Extent{Offset: 0, SizeBytes: squashfs.SuperblockSize} // Data set below
	pos := uint64(squashfs.SuperblockSize)
	var dataBytes int64
	for i := range p.nodes {
		n := &p.nodes[i]
		if n.leader != int32(i) || n.e.Mode&squashfsTypeMask != sIFREG {
			continue
		}
		p.dataPos[i] = pos
		if n.e.Size == 0 {
			continue
		}
		d := data[i]
		if d == nil {
			return nil, fmt.Errorf("squashfs: no data for %s", n.e.Path) // a bug, not bad input
		}
		for _, s := range d.segs {
			extents = append(extents, extent.Extent{Offset: int64(pos), SizeBytes: s.n, Source: sp.section(s.off, s.n), Name: n.e.Path})
			pos += uint64(s.n)
		}
		dataBytes += d.storedBytes
	}
	// Inode numbers, then the tables, in the same post-order walk.
	p.number(0)
	c, err := squashfs.NewCompressor(opts.Compression, metadataLevel(opts.Compression), opts.BlockSizeBytes)
	if err != nil {
		return nil, err
	}
	p.inodes, p.dirs = squashfs.NewMetadataWriter(c), squashfs.NewMetadataWriter(c)
	for i := range p.nodes {
		p.nodes[i].written = false
	}
	if err := p.write(0, uint32(len(p.nodes))+1); err != nil {
		return nil, err
	}
	inodeTable, _ := p.inodes.Finish()
	dirTable, _ := p.dirs.Finish()

	sb := squashfs.Superblock{
		Inodes:            p.next - 1,
		MkfsTime:          p.mkfsTime(),
		BlockSize:         opts.BlockSizeBytes,
		Compressor:        opts.Compression.ID(),
		Flags:             squashfs.FlagNoFragments | squashfs.FlagNoXattrs,
		IDs:               uint16(len(p.ids)),
		RootInode:         p.nodes[0].ref,
		XattrIDTableStart: squashfs.InvalidTable,
		LookupTableStart:  squashfs.InvalidTable,
	}
	if opts.Compression == squashfs.None {
		sb.Flags |= squashfs.FlagUncompressedInodes | squashfs.FlagUncompressedData |
			squashfs.FlagUncompressedFragments | squashfs.FlagUncompressedXattrs | squashfs.FlagUncompressedIDs
	}
	tail := make([]byte, 0, len(inodeTable)+len(dirTable)+64)
	sb.InodeTableStart = pos
	tail = append(tail, inodeTable...)
	sb.DirectoryTableStart = pos + uint64(len(tail))
	tail = append(tail, dirTable...)
	// No fragments: the fragment table is empty and starts where the next
	// table does, as mksquashfs -no-fragments writes it.
	sb.FragmentTableStart = pos + uint64(len(tail))
	tail, sb.IDTableStart = squashfs.AppendIndexedTable(tail, pos+uint64(len(tail)), p.idRecords(), c)
	sb.BytesUsed = pos + uint64(len(tail))
	size := int64(sb.BytesUsed+squashfs.DeviceBlockSize-1) &^ (squashfs.DeviceBlockSize - 1)
	extents[0].Data = sb.Append(make([]byte, 0, squashfs.SuperblockSize))
	extents[0].Name = "squashfs superblock"
	extents = append(extents, extent.Extent{Offset: int64(pos), SizeBytes: int64(len(tail)), Data: tail, Name: "squashfs tables"})
	list, err := extent.New(size, extents)
	if err != nil {
		return nil, err
	}
	return &Image{list: list, dataBytes: dataBytes, metadataBytes: int64(len(tail)), inodes: sb.Inodes, comp: opts.Compression}, nil
}

// metadataLevel is the level the tables are compressed at: the fastest.
// They are compressed again on every Build and are about 1% of an image,
// so a better level would buy little size for time an edit waits for
// (MEASUREMENTS.md, squashroot).
func metadataLevel(c squashfs.Compression) int {
	if c == squashfs.None {
		return 0
	}
	return 1
}

// link finds every directory's children and the hard-link groups. Entries
// are in cpio order: a directory before what it holds, names sorted.
func (p *planner) link() error {
	groups := map[[2]uint64]int32{}
	var stack []int32 // the directories the walk is in, the root first
	for i := range p.tree.Entries() {
		e := &p.tree.Entries()[i]
		n := &p.nodes[i]
		n.e, n.leader, n.nlink = e, int32(i), 1
		typ := e.Mode & squashfsTypeMask
		if i > 0 {
			// The parent is the innermost open directory whose path is a
			// prefix of this one's: cpio order puts a directory's
			// subtree right after it.
			for len(stack) > 1 && !isChild(p.tree.Entries()[stack[len(stack)-1]].Path, e.Path) {
				stack = stack[:len(stack)-1]
			}
			parent := stack[len(stack)-1]
			if !isChild(p.tree.Entries()[parent].Path, e.Path) {
				return fmt.Errorf("squashfs: %s: parent directory not scanned before it", e.Path)
			}
			pn := &p.nodes[parent]
			pn.children = append(pn.children, int32(i))
			if typ == sIFDIR {
				pn.subdirs++
			} else if e.Nlink > 1 {
				id := [2]uint64{e.Dev, e.Ino}
				if l, ok := groups[id]; ok {
					n.leader = l
					p.nodes[l].nlink++
				} else {
					groups[id] = int32(i)
				}
			}
		}
		if typ == sIFDIR {
			stack = append(stack, int32(i))
		}
	}
	return nil
}

// isChild reports whether p is an entry directly in the directory dir.
func isChild(dir, p string) bool {
	if dir == "." {
		return !strings.Contains(p, "/")
	}
	return len(p) > len(dir)+1 && p[len(dir)] == '/' && p[:len(dir)] == dir && !strings.Contains(p[len(dir)+1:], "/")
}

// assignIDs makes the id table: every uid and gid, ascending.
func (p *planner) assignIDs() error {
	set := map[uint32]bool{0: true} // at least one entry, as the kernel needs
	if !p.opts.RootOwner {
		for i := range p.tree.Entries() {
			e := &p.tree.Entries()[i]
			set[e.UID], set[e.GID] = true, true
		}
	}
	if len(set) > squashfs.MaxIDs {
		return fmt.Errorf("%w: %d distinct owners and groups (at most %d)", squashfs.ErrLimit, len(set), squashfs.MaxIDs)
	}
	list := make([]uint32, 0, len(set))
	for id := range set {
		list = append(list, id)
	}
	slices.Sort(list)
	p.ids = make(map[uint32]uint16, len(list))
	for i, id := range list {
		p.ids[id] = uint16(i)
	}
	return nil
}

func (p *planner) idRecords() []byte {
	list := make([]uint32, len(p.ids))
	for id, i := range p.ids {
		list[i] = id
	}
	var b []byte
	for _, id := range list {
		b = squashfs.AppendID(b, id)
	}
	return b
}

// number assigns inode numbers in the order write writes the inodes:
// below a directory, its subdirectories (recursively), then its other
// entries, then itself; so a directory's entries are numbered close
// together and its listing needs few headers.
func (p *planner) number(dir int32) {
	if p.next == 0 {
		p.next = 1
	}
	d := &p.nodes[dir]
	for _, c := range d.children {
		if p.nodes[c].e.Mode&squashfsTypeMask == sIFDIR {
			p.number(c)
		}
	}
	for _, c := range d.children {
		l := &p.nodes[p.nodes[c].leader]
		if l.e.Mode&squashfsTypeMask != sIFDIR && !l.written {
			l.written = true
			l.number = p.next
			p.next++
		}
	}
	d.number = p.next
	p.next++
}

// write writes the inodes and listings below dir, then dir's listing and
// inode, in number's order; parent is the inode number of dir's "..".
func (p *planner) write(dir int32, parent uint32) error {
	d := &p.nodes[dir]
	for _, c := range d.children {
		if p.nodes[c].e.Mode&squashfsTypeMask == sIFDIR {
			if err := p.write(c, d.number); err != nil {
				return err
			}
		}
	}
	for _, c := range d.children {
		l := &p.nodes[p.nodes[c].leader]
		if l.e.Mode&squashfsTypeMask != sIFDIR && !l.written {
			if err := p.writeInode(p.nodes[c].leader); err != nil {
				return err
			}
		}
	}
	children := make([]squashfs.Child, len(d.children))
	for i, c := range d.children {
		n := &p.nodes[c]
		l := &p.nodes[n.leader]
		children[i] = squashfs.Child{Name: path.Base(n.e.Path), Type: basicType(n.e.Mode), Number: l.number, Ref: l.ref}
	}
	blk, off := p.dirs.Pos()
	var err error
	p.buf, err = squashfs.AppendListing(p.buf[:0], children)
	if err != nil {
		return fmt.Errorf("squashfs: directory %s: %w", d.e.Path, err)
	}
	p.dirs.Write(p.buf)
	size := uint64(len(p.buf)) + 3 // "." and ".." count, unstored
	if size > 0xffffffff {
		return fmt.Errorf("%w: directory %s: listing of %d bytes", squashfs.ErrLimit, d.e.Path, size)
	}
	di := squashfs.DirInode{
		InodeHeader: p.header(d),
		Extended:    size > squashfs.MaxBasicDirSize,
		StartBlock:  blk,
		Offset:      off,
		Nlink:       2 + d.subdirs,
		FileSize:    uint32(size),
		ParentInode: parent,
	}
	d.ref = p.inodeRef()
	p.inodes.Write(di.Append(p.buf[:0]))
	d.written = true
	return nil
}

func (p *planner) inodeRef() squashfs.InodeRef {
	blk, off := p.inodes.Pos()
	return squashfs.MakeInodeRef(blk, off)
}

func (p *planner) header(n *node) squashfs.InodeHeader {
	h := squashfs.InodeHeader{
		Mode:   uint16(n.e.Mode & squashfs.ModeMask),
		Mtime:  clampMtime(n.e.MtimeNs),
		Number: n.number,
	}
	if !p.opts.RootOwner {
		h.UID, h.GID = p.ids[n.e.UID], p.ids[n.e.GID]
	}
	return h
}

// writeInode writes the inode of a non-directory entry.
func (p *planner) writeInode(i int32) error {
	n := &p.nodes[i]
	e := n.e
	n.ref = p.inodeRef()
	n.written = true
	h := p.header(n)
	b := p.buf[:0]
	switch e.Mode & squashfsTypeMask {
	case sIFREG:
		start := p.dataPos[i]
		r := squashfs.RegInode{
			InodeHeader: h,
			Extended:    squashfs.NeedsExtended(start, uint64(e.Size), n.nlink),
			StartBlock:  start,
			FileSize:    uint64(e.Size),
			Nlink:       n.nlink,
			Fragment:    squashfs.InvalidFragment,
		}
		if e.Size > 0 {
			d := p.data[i]
			r.BlockSizes, r.Sparse = d.blocks, d.sparseBytes
		}
		b = r.Append(b)
	case sIFLNK:
		s := squashfs.SymlinkInode{InodeHeader: h, Nlink: n.nlink, Target: e.Target}
		b = s.Append(b)
	case sIFCHR, sIFBLK:
		h.Type = squashfs.TypeChrDev
		if e.Mode&squashfsTypeMask == sIFBLK {
			h.Type = squashfs.TypeBlkDev
		}
		d := squashfs.DevInode{InodeHeader: h, Nlink: n.nlink, Rdev: squashfs.EncodeDev(unix.Major(e.Rdev), unix.Minor(e.Rdev))}
		b = d.Append(b)
	case sIFIFO, sIFSOCK:
		h.Type = squashfs.TypeFIFO
		if e.Mode&squashfsTypeMask == sIFSOCK {
			h.Type = squashfs.TypeSocket
		}
		f := squashfs.IPCInode{InodeHeader: h, Nlink: n.nlink}
		b = f.Append(b)
	default:
		return fmt.Errorf("squashfs: %s: unknown file type %#o", e.Path, e.Mode&squashfsTypeMask)
	}
	p.inodes.Write(b)
	p.buf = b
	return nil
}

func basicType(mode uint32) uint16 {
	switch mode & squashfsTypeMask {
	case sIFDIR:
		return squashfs.TypeDir
	case sIFREG:
		return squashfs.TypeReg
	case sIFLNK:
		return squashfs.TypeSymlink
	case sIFBLK:
		return squashfs.TypeBlkDev
	case sIFCHR:
		return squashfs.TypeChrDev
	case sIFIFO:
		return squashfs.TypeFIFO
	}
	return squashfs.TypeSocket
}

// mkfsTime is the newest mtime of the tree: the image's bytes depend on the
// tree alone.
func (p *planner) mkfsTime() uint32 {
	var t int64
	for i := range p.tree.Entries() {
		t = max(t, p.tree.Entries()[i].MtimeNs)
	}
	return clampMtime(t)
}

// clampMtime converts nanoseconds to the 32-bit seconds of an inode.
func clampMtime(ns int64) uint32 {
	s := ns / 1e9
	if ns < 0 && ns%1e9 != 0 {
		s--
	}
	return uint32(max(0, min(s, 0xffffffff)))
}
