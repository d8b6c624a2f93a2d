package fat

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
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

// ReadAt reads the image. Bytes not covered by an extent are zeros.
func (im *Image) ReadAt(p []byte, off int64) (int, error) { return im.extents.ReadAt(p, off) }
