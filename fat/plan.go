package fat

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/liveiso/liveiso/extent"
)

// Errors a caller may need to tell apart, wrapped with the offending path.
var (
	// ErrInvalidInput: an empty or duplicate path, a file where a
	// directory is needed, a file without a source.
	ErrInvalidInput = errors.New("fat: invalid input")
	// ErrTooLarge: a file of 4 GiB or more, or more clusters than FAT32 has.
	ErrTooLarge = errors.New("fat: too large")
)

// File is a regular file of the image. Directories on its path are made as
// needed.
type File struct {
	Path   string // slash-separated, e.g. "EFI/BOOT/BOOTX64.EFI"
	Size   int64
	Source io.ReaderAt // Size bytes, read only when that range of the image is read
	Mtime  time.Time   // zero means Input.Date
}

// Input is everything Plan needs.
type Input struct {
	Label    string    // volume label, up to 11 bytes of upper-case ASCII; "" means "NO NAME"
	VolumeID uint32    // BS_VolID, the volume serial number (reproducible: the caller picks it)
	Date     time.Time // the date of directories and of files without Mtime
	Files    []File
	// MinSizeBytes, when larger than the files need, is the smallest image
	// size: free space to grow into (it costs nothing: free clusters read
	// as zeros).
	MinSizeBytes int64
	// ClusterSectors is BPB_SecPerClus, a power of two up to 128; 0 means 4
	// (2 KiB clusters: one ISO 9660 sector).
	ClusterSectors int
}

const defaultClusterSectors = 4

// Image is a planned FAT file system: immutable and safe for concurrent
// reads.
type Image struct {
	typ      Type
	extents  *extent.List
	clusters uint32 // CountofClusters
	used     uint32 // data clusters in use
}

// Type is the FAT variant, decided by the cluster count.
func (im *Image) Type() Type { return im.typ }

// Size is the image size in bytes, a multiple of 2048.
func (im *Image) Size() int64 { return im.extents.Size() }

// Clusters returns the count of data clusters and how many are in use.
func (im *Image) Clusters() (total, used uint32) { return im.clusters, im.used }

// node is a file or directory as planned.
type node struct {
	name     string
	short    [11]byte
	long     bool
	dir      bool
	children []*node
	file     File
	mtime    time.Time
	cluster  uint32 // first cluster; 0 for an empty file (and the FAT12/16 root)
	nclus    uint32
	entries  int // directories: 32-byte entries
}

// Plan lays out in's files in a FAT image. It does no I/O.
func Plan(in Input) (*Image, error) {
	spc := in.ClusterSectors
	if spc == 0 {
		spc = defaultClusterSectors
	}
	if spc < 1 || spc > 128 || spc&(spc-1) != 0 {
		return nil, fmt.Errorf("%w: %d sectors per cluster", ErrInvalidInput, spc)
	}
	if len(in.Label) > 11 {
		return nil, fmt.Errorf("%w: label %q longer than 11 bytes", ErrInvalidInput, in.Label)
	}
	root := &node{dir: true, mtime: in.Date}
	for _, f := range in.Files {
		if err := insert(root, f, in.Date); err != nil {
			return nil, err
		}
	}
	dirs, files, err := order(root, in.Label != "")
	if err != nil {
		return nil, err
	}

	clusterBytes := int64(spc) * SectorSize
	// Data clusters the FAT32 layout needs; FAT12/16 keep the root out of
	// the data area.
	var need int64
	for _, d := range dirs[1:] {
		need += clustersFor(int64(d.entries)*dirEntrySize, clusterBytes)
	}
	for _, f := range files {
		need += clustersFor(f.file.Size, clusterBytes)
	}
	rootEntries := max(rootEntCnt, (root.entries+15)&^15)
	g, err := chooseGeometry(need, clustersFor(int64(root.entries)*dirEntrySize, clusterBytes), int64(spc), rootEntries, (in.MinSizeBytes+SectorSize-1)/SectorSize)
	if err != nil {
		return nil, err
	}

	// Allocate clusters: (FAT32: the root,) directories, then files.
	next := uint32(rootCluster)
	alloc := func(n *node, bytes int64) {
		c := clustersFor(bytes, clusterBytes)
		if n.dir && c == 0 {
			c = 1
		}
		if c == 0 {
			return
		}
		n.cluster, n.nclus = next, uint32(c)
		next += uint32(c)
	}
	if g.typ == FAT32 {
		alloc(root, int64(root.entries)*dirEntrySize)
	}
	for _, d := range dirs[1:] {
		alloc(d, int64(d.entries)*dirEntrySize)
	}
	for _, f := range files {
		alloc(f, f.file.Size)
	}
	used := next - rootCluster

	var extents []extent.Extent
	add := func(off int64, name string, data []byte, src io.ReaderAt, size int64) {
		if size > 0 {
			extents = append(extents, extent.Extent{Offset: off, SizeBytes: size, Data: data, Source: src, Name: name})
		}
	}
	bs := bootSector{
		Type: g.typ, SecPerClus: uint8(spc), RsvdSecCnt: uint16(g.rsvd), TotSec: uint32(g.totSec),
		FATSz: uint32(g.fatSz), VolumeID: in.VolumeID, VolumeLabel: labelOrDefault(in.Label),
	}
	if g.typ != FAT32 {
		bs.RootEntCnt = uint16(rootEntries)
	}
	boot := bs.encode()
	add(0, "boot sector", boot, nil, SectorSize)
	if g.typ == FAT32 {
		fsi := (&fsInfo{FreeCount: g.clusters - used, NextFree: next}).encode()
		add(fsInfoSector*SectorSize, "FSInfo", fsi, nil, SectorSize)
		add(bkBootSector*SectorSize, "backup boot sector", boot, nil, SectorSize)
		add((bkBootSector+1)*SectorSize, "backup FSInfo", fsi, nil, SectorSize)
	}

	table := encodeFAT(g.typ, append(dirs, files...), next)
	for i := range int64(numFATs) {
		add((g.rsvd+i*g.fatSz)*SectorSize, fmt.Sprintf("FAT %d", i+1), table, nil, int64(len(table)))
	}
	dataStart := (g.rsvd + numFATs*g.fatSz + g.rootSecs) * SectorSize
	clusterOff := func(c uint32) int64 { return dataStart + int64(c-rootCluster)*clusterBytes }
	for _, d := range dirs {
		b, err := encodeDir(d, root, in.Label, in.Date)
		if err != nil {
			return nil, err
		}
		off := int64(0)
		if d == root && g.typ != FAT32 {
			off = (g.rsvd + numFATs*g.fatSz) * SectorSize
		} else {
			off = clusterOff(d.cluster)
		}
		add(off, "directory "+d.name, b, nil, int64(len(b)))
	}
	for _, f := range files {
		if f.cluster != 0 {
			add(clusterOff(f.cluster), f.file.Path, nil, f.file.Source, f.file.Size)
		}
	}
	slices.SortFunc(extents, func(a, b extent.Extent) int { return cmp.Compare(a.Offset, b.Offset) })
	list, err := extent.New(g.totSec*SectorSize, extents)
	if err != nil {
		return nil, err
	}
	return &Image{typ: g.typ, extents: list, clusters: g.clusters, used: used}, nil
}

func labelOrDefault(l string) string {
	if l == "" {
		return "NO NAME"
	}
	return l
}

func clustersFor(bytes, clusterBytes int64) int64 { return (bytes + clusterBytes - 1) / clusterBytes }

// insert adds f to the tree below root.
func insert(root *node, f File, date time.Time) error {
	parts := strings.Split(strings.Trim(f.Path, "/"), "/")
	if f.Size < 0 || f.Size > 0 && f.Source == nil {
		return fmt.Errorf("%s: %w: size %d without a source", f.Path, ErrInvalidInput, f.Size)
	}
	if f.Size > 0xFFFFFFFF {
		return fmt.Errorf("%s: %w: %d bytes (FAT files are below 4 GiB)", f.Path, ErrTooLarge, f.Size)
	}
	d := root
	for i, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "\x00\\:*?\"<>|") || len(p) > 255 {
			return fmt.Errorf("%s: %w: bad name %q", f.Path, ErrInvalidInput, p)
		}
		var found *node
		for _, c := range d.children {
			if strings.EqualFold(c.name, p) { // FAT names are case-insensitive
				found = c
			}
		}
		last := i == len(parts)-1
		switch {
		case found != nil && (last || !found.dir):
			return fmt.Errorf("%s: %w: %q exists", f.Path, ErrInvalidInput, p)
		case found != nil:
			d = found
		case last:
			mt := f.Mtime
			if mt.IsZero() {
				mt = date
			}
			d.children = append(d.children, &node{name: p, file: f, mtime: mt})
		default:
			nd := &node{name: p, dir: true, mtime: date}
			d.children = append(d.children, nd)
			d = nd
		}
	}
	return nil
}

// order sorts every directory, gives short names and counts entries; it
// returns the directories breadth first (root first) and the files in the
// same order.
func order(root *node, label bool) (dirs, files []*node, err error) {
	dirs = []*node{root}
	for i := 0; i < len(dirs); i++ {
		d := dirs[i]
		slices.SortFunc(d.children, func(a, b *node) int { return strings.Compare(a.name, b.name) })
		names := make([]string, len(d.children))
		for j, c := range d.children {
			names[j] = c.name
		}
		short, long, err := shortNames(names)
		if err != nil {
			return nil, nil, err
		}
		if d == root {
			if label {
				d.entries++
			}
		} else {
			d.entries += 2 // "." and ".."
		}
		for j, c := range d.children {
			c.short, c.long = short[j], long[j]
			if c.long {
				d.entries += longEntryCount(c.name)
			}
			d.entries++
			if c.dir {
				dirs = append(dirs, c)
			} else {
				files = append(files, c)
			}
		}
	}
	return dirs, files, nil
}

type geometry struct {
	typ      Type
	rsvd     int64 // reserved sectors
	fatSz    int64 // sectors per FAT
	rootSecs int64 // FAT12/16 root directory sectors
	totSec   int64
	clusters uint32
}

// chooseGeometry picks the smallest FAT type whose cluster count range
// holds the clusters needed (need, plus rootClusters on FAT32), and the
// sector counts that go with it. The total is a multiple of 4 sectors, so
// that the image ends on an ISO 9660 sector.
func chooseGeometry(need, rootClusters, spc int64, rootEntries int, minSectors int64) (geometry, error) {
	for _, t := range []Type{FAT12, FAT16, FAT32} {
		g := geometry{typ: t, rsvd: rsvdSecCntFAT, rootSecs: int64(rootEntries) * dirEntrySize / SectorSize}
		lo, hi := int64(1), int64(maxClustersFAT12)
		want := need
		switch t {
		case FAT16:
			lo, hi = maxClustersFAT12+1, maxClustersFAT16
		case FAT32:
			g.rsvd, g.rootSecs = rsvdSecCntFAT32, 0
			lo, hi = maxClustersFAT16+1, maxClustersFAT32
			want += rootClusters
		}
		count := max(want, lo)
		if count > hi {
			continue
		}
		g.fatSz = fatSectors(t, count)
		g.totSec = g.rsvd + numFATs*g.fatSz + g.rootSecs + count*spc
		g.totSec = (max(g.totSec, minSectors) + 3) &^ 3
		// With the total fixed, more clusters may fit than wanted; the FAT
		// must then grow to describe them, which may cost clusters again.
		for {
			count = (g.totSec - g.rsvd - numFATs*g.fatSz - g.rootSecs) / spc
			if fs := fatSectors(t, count); fs > g.fatSz {
				g.fatSz = fs
				continue
			}
			break
		}
		if count < lo || count > hi || count < want {
			continue
		}
		g.clusters = uint32(count)
		return g, nil
	}
	return geometry{}, fmt.Errorf("%w: %d clusters", ErrTooLarge, need)
}

// fatSectors is the size of one FAT describing count data clusters (plus
// the two reserved entries).
func fatSectors(t Type, count int64) int64 {
	entries := count + 2
	var bytes int64
	switch t {
	case FAT12:
		bytes = (entries*3 + 1) / 2
	case FAT16:
		bytes = entries * 2
	default:
		bytes = entries * 4
	}
	return (bytes + SectorSize - 1) / SectorSize
}

// encodeFAT returns the used prefix of the FAT: entries 0 and 1, then one
// chain per node (consecutive clusters, the last one end-of-chain). Entries
// from next on are free (zero) and are not stored.
func encodeFAT(t Type, nodes []*node, next uint32) []byte {
	eoc := t.endOfChain()
	entries := make([]uint32, next)
	entries[0] = eoc&^0xFF | mediaFixed // the media byte in the low 8 bits
	entries[1] = eoc                    // clean shutdown, no hard error
	for _, n := range nodes {
		for i := range n.nclus {
			c := n.cluster + i
			if i == n.nclus-1 {
				entries[c] = eoc
			} else {
				entries[c] = c + 1
			}
		}
	}
	switch t {
	case FAT12:
		b := make([]byte, (len(entries)*3+1)/2)
		for i, e := range entries {
			off := i + i/2
			if i%2 == 0 {
				b[off] = byte(e)
				b[off+1] = b[off+1]&0xF0 | byte(e>>8)&0x0F
			} else {
				b[off] = b[off]&0x0F | byte(e<<4)
				b[off+1] = byte(e >> 4)
			}
		}
		return b
	case FAT16:
		b := make([]byte, 0, 2*len(entries))
		for _, e := range entries {
			b = binary.LittleEndian.AppendUint16(b, uint16(e))
		}
		return b
	}
	b := make([]byte, 0, 4*len(entries))
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint32(b, e)
	}
	return b
}

// encodeDir returns the entries of directory d.
func encodeDir(d, root *node, label string, date time.Time) ([]byte, error) {
	b := make([]byte, 0, d.entries*dirEntrySize)
	if d == root {
		if label != "" {
			e := dirEntry{Attr: attrVolumeID, Time: date}
			copy(e.Name[:], padName(label, 11))
			b = e.appendTo(b)
		}
	} else {
		self := dirEntry{Attr: attrDirectory, Time: d.mtime, Cluster: d.cluster}
		copy(self.Name[:], padName(".", 11))
		b = self.appendTo(b)
		parent := dirEntry{Attr: attrDirectory, Time: d.mtime, Cluster: parentCluster(root, d)}
		copy(parent.Name[:], padName("..", 11))
		b = parent.appendTo(b)
	}
	for _, c := range d.children {
		if c.long {
			b = appendLongEntries(b, c.name, c.short)
		}
		e := dirEntry{Name: c.short, Time: c.mtime, Cluster: c.cluster}
		if c.dir {
			e.Attr = attrDirectory
		} else {
			e.Attr = attrArchive | attrReadOnly
			e.FileSize = uint32(c.file.Size)
		}
		b = e.appendTo(b)
	}
	return b, nil
}

// parentCluster is the cluster ".." of d names: 0 when the parent is the
// root, on FAT32 too (fatgen103, "FAT Directory Structure").
func parentCluster(root, d *node) uint32 {
	var find func(n *node) *node
	find = func(n *node) *node {
		for _, c := range n.children {
			if c == d {
				return n
			}
			if c.dir {
				if p := find(c); p != nil {
					return p
				}
			}
		}
		return nil
	}
	p := find(root)
	if p == nil || p == root {
		return 0
	}
	return p.cluster
}

// ReadAt reads the image. Bytes not covered by an extent are zeros.
func (im *Image) ReadAt(p []byte, off int64) (int, error) { return im.extents.ReadAt(p, off) }
