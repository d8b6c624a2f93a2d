package isolayout

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/liveiso/liveiso/extent"
)

// SectorSize is the logical block size of the image (ECMA-119 6.1.2).
const SectorSize = 2048

const (
	systemAreaSectors = 16 // ECMA-119 6.2.1
	// maxExtentBytes is the largest extent of a multi-extent file: the Data
	// Length field is 32 bits, and every extent but the last must be a whole
	// number of sectors (ECMA-119 6.5.1, level 3).
	maxExtentBytes = math.MaxUint32 &^ (SectorSize - 1)
	// maxNameBytes is the longest Rock Ridge name accepted: Linux's NAME_MAX.
	maxNameBytes = 255
	// defaultLoadSectors is the El Torito sector count isolinux needs.
	defaultLoadSectors = 4
	systemID           = "LINUX"
)

// Errors a caller may need to tell apart, wrapped with the offending path.
var (
	// ErrInvalidTree: a node is malformed (empty or duplicate name, a "/" in
	// a name, a regular file without a source, a cycle, ...).
	ErrInvalidTree = errors.New("isolayout: invalid tree")
	// ErrNameTooLong: a name is longer than 255 bytes.
	ErrNameTooLong = errors.New("isolayout: name longer than 255 bytes")
	// ErrTooLarge: the image would exceed 2^32 sectors (8 TiB). Files of
	// 4 GiB or more are not an error: they become multi-extent files.
	ErrTooLarge = errors.New("isolayout: image larger than ISO 9660 allows")
	// ErrTooManyDirectories: more than 65535 directories (the path table
	// numbers parents with 16 bits).
	ErrTooManyDirectories = errors.New("isolayout: more than 65535 directories")
	// ErrBadIdentifier: the volume or application identifier is too long or
	// not printable ASCII.
	ErrBadIdentifier = errors.New("isolayout: bad volume identifier")
	// ErrBootPath: an El Torito path does not name what it must.
	ErrBootPath = errors.New("isolayout: bad El Torito path")
)

// Node is a file of the image.
type Node struct {
	Name     string      // Linux name (Rock Ridge NM); the ISO 9660 name is derived from it
	Mode     fs.FileMode // type (fs.ModeDir, fs.ModeSymlink, 0 = regular, devices, fifos, sockets) + permission bits (incl. setuid/setgid/sticky)
	UID, GID uint32
	Mtime    time.Time // Rock Ridge TF times and the record's ISO date; zero means Input.Date
	Size     int64     // regular files
	Source   io.ReaderAt
	Target   string  // symlinks
	Children []*Node // directories, any order (the planner sorts deterministically)
	Volatile bool    // regular files: data placed after all non-volatile data (the initrd)

	DevMajor, DevMinor uint32 // device nodes (Rock Ridge PN)
}

// ElTorito describes the boot entries: BIOS (isolinux), UEFI (an EFI
// System Partition image), or both.
type ElTorito struct {
	CatalogPath   string // e.g. "isolinux/boot.cat": the planner adds this file to the tree; its directory must exist
	LoaderPath    string // path of a regular file node in the tree, e.g. "isolinux/isolinux.bin"; "" for no BIOS entry
	Loader        []byte // the loader's bytes (len must equal the node's Size); served patched instead of the node's Source
	LoadSectors   uint16 // virtual 512-byte sectors the BIOS loads; 0 means 4 (what isolinux needs)
	BootInfoTable bool   // patch the isolinux boot-info-table at offset 8

	// EFIImagePath is the path of a regular file node holding an EFI System
	// Partition image (a FAT file system with EFI/BOOT/BOOTX64.EFI), e.g.
	// "boot/efi.img"; "" for no UEFI entry. With a BIOS loader it is a
	// second catalog section (platform 0xEF); alone it is the default
	// entry. Its data is placed right after the loader's, before other
	// files. It must not be Volatile.
	EFIImagePath string
}

// Input is everything Plan needs.
type Input struct {
	VolumeID      string    // up to 32 bytes of printable ASCII (distributions use lower case; not forced to d-characters)
	ApplicationID string    // up to 128 bytes of printable ASCII
	Date          time.Time // volume dates in the PVD, and the date of nodes without Mtime
	Root          *Node     // a directory; its Name is ignored
	ElTorito      *ElTorito // nil: not bootable
	Hybrid        *Hybrid   // nil: the system area stays zero (a CD image only)
}

// Extent is a range of the image backed by one source.
type Extent struct {
	LBA       uint32
	SizeBytes int64 // bytes from Source; the rest of the last sector reads as zeros
	Name      string
	Source    io.ReaderAt
}

// Layout is a planned image: immutable, and safe for concurrent reads.
type Layout struct {
	extents *extent.List // in image order
}

// Size is the image size in bytes: the volume space size times SectorSize.
func (l *Layout) Size() int64 { return l.extents.Size() }

// Extents returns the extents in image order.
func (l *Layout) Extents() []Extent {
	es := l.extents.Extents()
	out := make([]Extent, len(es))
	for i, e := range es {
		src := e.Source
		if e.Data != nil {
			src = bytes.NewReader(e.Data)
		}
		// Every extent starts at the beginning of its sector but the
		// backup GPT, which starts less than a sector into it.
		out[i] = Extent{LBA: uint32(e.Offset / SectorSize), SizeBytes: e.SizeBytes, Name: e.Name, Source: src}
	}
	return out
}

// ReadAt reads the image. Bytes not covered by an extent are zeros.
func (l *Layout) ReadAt(p []byte, off int64) (int, error) { return l.extents.ReadAt(p, off) }

// pnode is a node as planned.
type pnode struct {
	n      *Node
	name   string // Rock Ridge name
	iso    isoName
	ident  []byte
	parent *pnode
	mode   fs.FileMode
	mtime  time.Time

	children []*pnode // directories, in ECMA-119 9.3 order
	number   int      // directories: path table number
	records  []record // directories: the records of its extent
	dirBytes int64    // directories: extent size, whole sectors
	subdirs  int

	size     int64       // regular files
	data     []byte      // generated contents (boot catalog, patched loader)
	src      io.ReaderAt // regular files without data
	volatile bool

	lba uint32
	ino uint32
}

type recordKind int

const (
	recordSelf   recordKind = iota // "."
	recordParent                   // ".."
	recordEntry
)

type record struct {
	node   *pnode // the node the record describes (for "..", the parent)
	kind   recordKind
	part   int // extent number of a multi-extent file
	parts  int
	su     *systemUse
	offset int64 // within the directory extent
}

type planner struct {
	in   Input
	date time.Time
	dirs []*pnode // path table order
	seen map[*Node]bool

	catalog, loader, esp *pnode
	caBytes              int64 // continuation area region, bytes used
}

// Plan places in's tree in an image. It does no I/O and reads no source.
func Plan(in Input) (*Layout, error) {
	p := &planner{in: in, date: in.Date, seen: map[*Node]bool{}}
	if err := checkIdentifier(in.VolumeID, volumeIDLen); err != nil {
		return nil, fmt.Errorf("volume id %q: %w", in.VolumeID, err)
	}
	if err := checkIdentifier(in.ApplicationID, applicationIDLen); err != nil {
		return nil, fmt.Errorf("application id %q: %w", in.ApplicationID, err)
	}
	if in.Root == nil || !in.Root.Mode.IsDir() {
		return nil, fmt.Errorf("root: %w: not a directory", ErrInvalidTree)
	}
	root, err := p.adopt(in.Root, nil, "")
	if err != nil {
		return nil, err
	}
	if in.ElTorito != nil {
		if err := p.addBootFiles(root, in.ElTorito); err != nil {
			return nil, err
		}
	}
	if in.Hybrid != nil && in.ElTorito == nil {
		return nil, fmt.Errorf("%w: a hybrid image needs an El Torito boot entry", ErrBootPath)
	}
	if err := p.order(root); err != nil {
		return nil, err
	}
	p.planRecords()
	return p.allocate(root)
}

func checkIdentifier(s string, n int) error {
	if len(s) > n {
		return fmt.Errorf("%w: longer than %d bytes", ErrBadIdentifier, n)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return fmt.Errorf("%w: not printable ASCII", ErrBadIdentifier)
		}
	}
	return nil
}

// adopt validates n and builds its planned copy; the input is not modified.
func (p *planner) adopt(n *Node, parent *pnode, path string) (*pnode, error) {
	pn := &pnode{n: n, name: n.Name, parent: parent, mode: n.Mode, mtime: n.Mtime}
	if pn.mtime.IsZero() {
		pn.mtime = p.date
	}
	if parent != nil {
		switch {
		case n.Name == "" || n.Name == "." || n.Name == "..":
			return nil, fmt.Errorf("%s: %w: name %q", path, ErrInvalidTree, n.Name)
		case strings.ContainsAny(n.Name, "/\x00"):
			return nil, fmt.Errorf("%s: %w: name contains / or NUL", path, ErrInvalidTree)
		case len(n.Name) > maxNameBytes:
			return nil, fmt.Errorf("%s: %w", path, ErrNameTooLong)
		}
	}
	switch {
	case n.Mode.IsDir():
		if p.seen[n] {
			return nil, fmt.Errorf("%s: %w: directory node appears twice", path, ErrInvalidTree)
		}
		p.seen[n] = true
		pn.children = make([]*pnode, 0, len(n.Children))
		for _, c := range n.Children {
			if c == nil {
				return nil, fmt.Errorf("%s: %w: nil child", path, ErrInvalidTree)
			}
			cp, err := p.adopt(c, pn, path+"/"+c.Name)
			if err != nil {
				return nil, err
			}
			if cp.mode.IsDir() {
				pn.subdirs++
			}
			pn.children = append(pn.children, cp)
		}
	case n.Mode.IsRegular():
		if n.Size < 0 || n.Size > 0 && n.Source == nil {
			return nil, fmt.Errorf("%s: %w: regular file with size %d and no source", path, ErrInvalidTree, n.Size)
		}
		pn.size, pn.src, pn.volatile = n.Size, n.Source, n.Volatile
	case n.Mode&fs.ModeSymlink != 0:
		if n.Target == "" {
			return nil, fmt.Errorf("%s: %w: empty symlink target", path, ErrInvalidTree)
		}
	}
	return pn, nil
}

// lookup finds a node by slash-separated path below root.
func lookup(root *pnode, path string) *pnode {
	n := root
	for c := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		if !n.mode.IsDir() {
			return nil
		}
		var next *pnode
		for _, ch := range n.children {
			if ch.name == c {
				next = ch
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func (p *planner) addBootFiles(root *pnode, et *ElTorito) error {
	if et.LoaderPath == "" && et.EFIImagePath == "" {
		return fmt.Errorf("%w: neither a BIOS loader nor an EFI image", ErrBootPath)
	}
	if et.EFIImagePath != "" {
		esp := lookup(root, et.EFIImagePath)
		if esp == nil || !esp.mode.IsRegular() || esp == root || esp.volatile || esp.size == 0 {
			return fmt.Errorf("EFI image %s: %w: no such non-volatile, non-empty regular file in the tree", et.EFIImagePath, ErrBootPath)
		}
		p.esp = esp
	}
	if et.LoaderPath != "" {
		if err := p.addLoader(root, et); err != nil {
			return err
		}
	}
	return p.addCatalog(root, et)
}

func (p *planner) addLoader(root *pnode, et *ElTorito) error {
	loader := lookup(root, et.LoaderPath)
	if loader == nil || !loader.mode.IsRegular() || loader == root {
		return fmt.Errorf("loader %s: %w: no such regular file in the tree", et.LoaderPath, ErrBootPath)
	}
	if loader.volatile || loader.size != int64(len(et.Loader)) {
		return fmt.Errorf("loader %s: %w: node size %d, loader %d bytes (and it must not be volatile)",
			et.LoaderPath, ErrBootPath, loader.size, len(et.Loader))
	}
	if et.BootInfoTable && len(et.Loader) < bootInfoChecksumStart {
		return fmt.Errorf("loader %s: %w", et.LoaderPath, ErrLoaderTooShort)
	}
	p.loader = loader
	if loader == p.esp {
		return fmt.Errorf("loader %s: %w: the BIOS loader and the EFI image are one file", et.LoaderPath, ErrBootPath)
	}
	return nil
}

func (p *planner) addCatalog(root *pnode, et *ElTorito) error {
	clean := strings.Trim(et.CatalogPath, "/")
	dirPath, name := "", clean
	if i := strings.LastIndexByte(clean, '/'); i >= 0 {
		dirPath, name = clean[:i], clean[i+1:]
	}
	dir := root
	if dirPath != "" {
		dir = lookup(root, dirPath)
	}
	if name == "" || dir == nil || !dir.mode.IsDir() || lookup(dir, name) != nil {
		return fmt.Errorf("catalog %s: %w: its directory must exist and the name must be free", et.CatalogPath, ErrBootPath)
	}
	p.catalog = &pnode{
		name: name, parent: dir, mode: 0o444, mtime: p.date,
		size: SectorSize, data: make([]byte, SectorSize), // encoded once its LBA is known
	}
	dir.children = append(dir.children, p.catalog)
	return nil
}

// order sorts every directory, assigns ISO names, numbers the directories in
// path table order (ECMA-119 6.9.1: by level, then parent number, then
// identifier) and assigns inode numbers in the same walk.
func (p *planner) order(root *pnode) error {
	root.ident = identifierCurrent
	root.iso = isoName{dir: true}
	ino := uint32(1)
	root.ino = ino
	p.dirs = append(p.dirs, root)
	var names []string
	var isDir []bool
	for i := 0; i < len(p.dirs); i++ {
		d := p.dirs[i]
		d.number = i + 1
		if d.number > maxDirectories {
			return ErrTooManyDirectories
		}
		slices.SortFunc(d.children, func(a, b *pnode) int { return strings.Compare(a.name, b.name) })
		names, isDir = names[:0], isDir[:0]
		for j, c := range d.children {
			if j > 0 && d.children[j-1].name == c.name {
				return fmt.Errorf("%s: %w: duplicate name %q", pathOf(d), ErrInvalidTree, c.name)
			}
			names = append(names, c.name)
			isDir = append(isDir, c.mode.IsDir())
		}
		isoNames := uniqueISONames(names, isDir)
		for j, c := range d.children {
			c.iso = isoNames[j]
			c.ident = c.iso.identifier()
		}
		slices.SortFunc(d.children, func(a, b *pnode) int {
			if a.iso.less(b.iso) {
				return -1
			}
			return 1
		})
		for _, c := range d.children {
			ino++
			c.ino = ino
			if c.mode.IsDir() {
				p.dirs = append(p.dirs, c)
			}
		}
	}
	return nil
}

func pathOf(n *pnode) string {
	if n.parent == nil {
		return "/"
	}
	var parts []string
	for ; n.parent != nil; n = n.parent {
		parts = append(parts, n.name)
	}
	slices.Reverse(parts)
	return "/" + strings.Join(parts, "/")
}

// rockRidge returns the SUSP entries of a record describing n.
func (p *planner) rockRidge(n *pnode, kind recordKind, isRoot bool) *suspEntries {
	es := &suspEntries{buf: make([]byte, 0, 128), ends: make([]int, 0, 6)}
	if isRoot && kind == recordSelf {
		es.add(spEntry{})
	}
	links := uint32(1)
	if n.mode.IsDir() {
		links = 2 + uint32(n.subdirs)
	}
	es.add(&pxEntry{Mode: posixMode(n.mode), Links: links, UID: uidOf(n), GID: gidOf(n), Serial: n.ino})
	es.add(&tfEntry{Modify: n.mtime, Access: n.mtime, Attributes: n.mtime})
	if n.mode&fs.ModeDevice != 0 && n.n != nil {
		es.add(&pnEntry{High: n.n.DevMajor, Low: n.n.DevMinor})
	}
	if kind == recordEntry {
		nmEntries{Name: n.name}.appendTo(es)
		if n.mode&fs.ModeSymlink != 0 {
			slEntries{Target: n.n.Target}.appendTo(es)
		}
	}
	if isRoot && kind == recordSelf {
		es.add(&erEntry{ID: rripID, Descriptor: rripDescriptor, Source: rripSource, Version: rripVersion})
	}
	return es
}

func uidOf(n *pnode) uint32 {
	if n.n == nil {
		return 0
	}
	return n.n.UID
}

func gidOf(n *pnode) uint32 {
	if n.n == nil {
		return 0
	}
	return n.n.GID
}

// parts is the number of directory records (extents) of a file.
func (n *pnode) parts() int {
	if !n.mode.IsRegular() || n.size <= maxExtentBytes {
		return 1
	}
	return int((n.size + maxExtentBytes - 1) / maxExtentBytes)
}

// planRecords lays out the records of every directory (records never cross
// a sector boundary: ECMA-119 6.8.1.1) and the continuation areas.
func (p *planner) planRecords() {
	for _, d := range p.dirs {
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
				su := splitSystemUse(p.rockRidge(r.node, r.kind, isRoot && r.kind != recordEntry), systemUseRoom(len(ident)))
				p.placeContinuation(&su)
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

// placeContinuation assigns each continuation area of su its place in the
// continuation-area region; an area never crosses a sector.
func (p *planner) placeContinuation(su *systemUse) {
	if len(su.pieces) == 0 {
		return
	}
	su.caOff = make([]int64, len(su.pieces))
	for i := range su.pieces {
		n := int64(su.pieceLen(i))
		if p.caBytes%SectorSize+n > SectorSize {
			p.caBytes += SectorSize - p.caBytes%SectorSize
		}
		su.caOff[i] = p.caBytes
		p.caBytes += n
	}
}

func roundUp(n int64) int64 { return (n + SectorSize - 1) &^ (SectorSize - 1) }

func sectors(n int64) int64 { return roundUp(n) / SectorSize }

// allocate gives every structure and file its sectors, encodes the
// generated structures and returns the layout.
func (p *planner) allocate(root *pnode) (*Layout, error) {
	extents := make([]extent.Extent, 0, 8+len(p.dirs))
	var lba int64 = pvdLBA
	next := func(n int64) uint32 {
		at := uint32(lba)
		lba += sectors(n)
		return at
	}
	add := func(at uint32, name string, data []byte, src io.ReaderAt, size int64) {
		if size == 0 {
			return
		}
		extents = append(extents, extent.Extent{Offset: int64(at) * SectorSize, SizeBytes: size, Data: data, Source: src, Name: name})
	}

	pvdAt := next(SectorSize)
	var brAt uint32
	if p.in.ElTorito != nil {
		brAt = next(SectorSize)
	}
	termAt := next(SectorSize)

	ptRecords := make([]pathTableRecord, len(p.dirs))
	var ptSize int64
	for i, d := range p.dirs {
		parent := 1
		if d.parent != nil {
			parent = d.parent.number
		}
		ptRecords[i] = pathTableRecord{ParentNumber: uint16(parent), Identifier: d.ident}
		ptSize += int64(ptRecords[i].encodedLen())
	}
	lPathAt := next(ptSize)
	mPathAt := next(ptSize)
	for _, d := range p.dirs {
		d.lba = next(d.dirBytes)
	}
	caAt := next(p.caBytes)
	if p.catalog != nil {
		p.catalog.lba = next(SectorSize)
		if p.loader != nil {
			p.loader.lba = next(p.loader.size)
		}
		if p.esp != nil {
			p.esp.lba = next(p.esp.size)
		}
	}
	var files []*pnode
	for _, volatile := range []bool{false, true} {
		for _, d := range p.dirs {
			for _, c := range d.children {
				if c.mode.IsRegular() && c.volatile == volatile && c != p.catalog && c != p.loader && c != p.esp {
					if c.size > 0 {
						c.lba = next(c.size)
					}
					files = append(files, c)
				}
			}
		}
	}
	var backupGPTAt uint32
	if p.in.Hybrid != nil && p.esp != nil {
		// The backup GPT must end at the disk's last LBA: it is the last
		// thing in the image, after the volatile data, inside the volume
		// space so that a copy of the image carries it.
		backupGPTAt = next(backupGPTBytes)
	}
	if lba > math.MaxUint32 {
		return nil, fmt.Errorf("%w: %d sectors", ErrTooLarge, lba)
	}
	if p.in.Hybrid != nil {
		sa, err := p.systemArea(uint64(lba), backupGPTAt)
		if err != nil {
			return nil, err
		}
		for _, e := range sa {
			add(e.lba, e.name, e.data, nil, int64(len(e.data)))
			if e.offset != 0 { // the backup GPT starts inside its first sector
				extents[len(extents)-1].Offset += e.offset
			}
		}
	}

	pvd := primaryVolumeDescriptor{
		SystemID:        systemID,
		VolumeID:        p.in.VolumeID,
		VolumeSpaceSize: uint32(lba),
		PathTableSize:   uint32(ptSize),
		LPathTableLBA:   lPathAt,
		MPathTableLBA:   mPathAt,
		Root:            dirRecord{ExtentLBA: root.lba, DataLength: uint32(root.dirBytes), Recorded: root.mtime, Flags: fileFlagDirectory, Identifier: identifierCurrent},
		ApplicationID:   p.in.ApplicationID,
		Created:         p.date,
		Modified:        p.date,
		Effective:       p.date,
	}
	add(pvdAt, "primary volume descriptor", pvd.encode(), nil, SectorSize)
	if p.in.ElTorito != nil {
		br := bootRecordDescriptor{CatalogLBA: p.catalog.lba}
		add(brAt, "boot record volume descriptor", br.encode(), nil, SectorSize)
	}
	add(termAt, "volume descriptor set terminator", terminatorDescriptor{}.encode(), nil, SectorSize)

	lTable := make([]byte, 0, ptSize)
	mTable := make([]byte, 0, ptSize)
	for i, d := range p.dirs {
		ptRecords[i].ExtentLBA = d.lba
		lTable = ptRecords[i].appendTo(lTable, binary.LittleEndian)
		mTable = ptRecords[i].appendTo(mTable, binary.BigEndian)
	}
	add(lPathAt, "type L path table", lTable, nil, ptSize)
	add(mPathAt, "type M path table", mTable, nil, ptSize)

	ca := make([]byte, p.caBytes)
	for _, d := range p.dirs {
		buf := make([]byte, d.dirBytes)
		for i := range d.records {
			r := &d.records[i]
			dr := p.dirRecordOf(r, caAt)
			dr.appendTo(buf[r.offset:r.offset])
			if r.part == 0 {
				for j, piece := range r.su.pieces {
					b := append(ca[r.su.caOff[j]:r.su.caOff[j]], piece...)
					if j < len(r.su.pieces)-1 {
						r.su.ce(j+1, caAt).appendTo(b)
					}
				}
			}
		}
		add(d.lba, "directory "+pathOf(d), buf, nil, d.dirBytes)
	}
	add(caAt, "rock ridge continuation areas", ca, nil, p.caBytes)

	if et := p.in.ElTorito; et != nil {
		p.catalog.data = p.bootCatalog().encode()
		add(p.catalog.lba, pathOf(p.catalog), p.catalog.data, nil, SectorSize)
		if p.loader != nil {
			loader, err := p.patchedLoader()
			if err != nil {
				return nil, err
			}
			add(p.loader.lba, pathOf(p.loader), loader, nil, p.loader.size)
		}
		if p.esp != nil {
			add(p.esp.lba, pathOf(p.esp), nil, p.esp.src, p.esp.size)
		}
	}
	for _, f := range files {
		add(f.lba, pathOf(f), nil, f.src, f.size)
	}
	// The system area and the backup GPT were added out of order.
	slices.SortFunc(extents, func(a, b extent.Extent) int { return cmp.Compare(a.Offset, b.Offset) })
	list, err := extent.New(lba*SectorSize, extents)
	if err != nil {
		return nil, err
	}
	return &Layout{extents: list}, nil
}

// dirRecordOf encodes the directory record r.
func (p *planner) dirRecordOf(r *record, caLBA uint32) dirRecord {
	n := r.node
	dr := dirRecord{Identifier: r.ident(), Recorded: n.mtime}
	switch {
	case n.mode.IsDir():
		dr.Flags = fileFlagDirectory
		dr.ExtentLBA, dr.DataLength = n.lba, uint32(n.dirBytes)
	case n.mode.IsRegular():
		start := int64(r.part) * maxExtentBytes
		dr.ExtentLBA = n.lba + uint32(start/SectorSize)
		dr.DataLength = uint32(min(n.size-start, maxExtentBytes))
		if r.part < r.parts-1 {
			dr.Flags = fileFlagMultiExtent
		}
	}
	su := make([]byte, 0, r.su.inlineLen())
	su = append(su, r.su.inline...)
	if len(r.su.pieces) > 0 {
		su = r.su.ce(0, caLBA).appendTo(su)
	}
	dr.SystemUse = su
	return dr
}
