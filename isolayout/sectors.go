package isolayout

import (
	"fmt"
	"math"
)

// The fixed part of the sector map (ECMA-119 6.2.1, 8.4; El Torito 1.0 2.0).
const (
	systemAreaSectors = 16                // sectors 0-15, for the system's use (the hybrid MBR and GPT)
	pvdLBA            = systemAreaSectors // the first volume descriptor follows the system area
	bootRecordLBA     = pvdLBA + 1        // El Torito: the boot record is at sector 17
)

// HeadSectors is the number of sectors at the start of a bootable image
// that every reader reads when it starts over: the system area (a disk
// boot reads the MBR and GPT there), the primary volume descriptor (every
// ISO 9660 driver and isolinux read it) and the El Torito boot record (a
// CD boot reads it first). Their places are fixed by the specifications;
// what changes between two images of one tree is elsewhere.
const HeadSectors = bootRecordLBA + 1

// sectorRequest is what the sector assignment needs to know: the size of
// every structure and file, in bytes, in image order.
type sectorRequest struct {
	bootRecord        bool    // an El Torito boot record follows the PVD
	pathTableBytes    int64   // each of the type L and type M path tables
	dirBytes          []int64 // directory extents, in path table order
	joliet            bool    // a Joliet supplementary volume descriptor follows
	jolietPTBytes     int64   // each of the Joliet type L and type M path tables
	jolietDirBytes    []int64 // Joliet directory extents, in Joliet path table order
	continuationBytes int64   // the Rock Ridge continuation-area region
	fileBytes         []int64 // file data in image order
	backupGPT         bool    // a trailing region for the backup GPT
}

// sectorMap is where everything of a sectorRequest starts. A structure of
// zero bytes gets no sectors and the LBA of whatever follows it, except an
// empty file, which gets LBA 0 as other ISO 9660 writers give it.
type sectorMap struct {
	bootRecord   uint32 // 0 without El Torito
	joliet       uint32 // the Joliet supplementary volume descriptor; 0 without Joliet
	terminator   uint32
	lPathTable   uint32
	mPathTable   uint32
	jLPathTable  uint32
	jMPathTable  uint32
	dirs         []uint32
	jolietDirs   []uint32
	continuation uint32
	files        []uint32
	backupGPT    uint32 // 0 without a backup GPT
	// volumeSectors is the Volume Space Size (ECMA-119 8.4.8): every
	// sector of the image.
	volumeSectors uint32
}

// assignSectors hands out sectors in the order of the sector map in the
// package documentation. It is a pure function of the sizes.
func assignSectors(r sectorRequest) (sectorMap, error) {
	m := sectorMap{dirs: make([]uint32, len(r.dirBytes)), files: make([]uint32, len(r.fileBytes))}
	if r.joliet {
		m.jolietDirs = make([]uint32, len(r.jolietDirBytes))
	}
	var lba int64 = pvdLBA
	next := func(n int64) uint32 {
		at := uint32(lba)
		lba += sectors(n)
		return at
	}
	next(SectorSize) // the primary volume descriptor
	if r.bootRecord {
		m.bootRecord = next(SectorSize)
	}
	if r.joliet {
		m.joliet = next(SectorSize)
	}
	m.terminator = next(SectorSize)
	m.lPathTable = next(r.pathTableBytes)
	m.mPathTable = next(r.pathTableBytes)
	if r.joliet {
		m.jLPathTable = next(r.jolietPTBytes)
		m.jMPathTable = next(r.jolietPTBytes)
	}
	for i, n := range r.dirBytes {
		m.dirs[i] = next(n)
	}
	// The Joliet directories' sizes depend on names alone, like the
	// primary ones: they stay before every file's data.
	for i, n := range r.jolietDirBytes {
		m.jolietDirs[i] = next(n)
	}
	m.continuation = next(r.continuationBytes)
	for i, n := range r.fileBytes {
		if n > 0 {
			m.files[i] = next(n)
		}
	}
	if r.backupGPT {
		// The backup GPT must end at the disk's last LBA: it is the last
		// thing in the image, after the volatile data, inside the volume
		// space so that a copy of the image carries it.
		m.backupGPT = next(backupGPTBytes)
	}
	if lba > math.MaxUint32 {
		return sectorMap{}, fmt.Errorf("%w: %d sectors", ErrTooLarge, lba)
	}
	m.volumeSectors = uint32(lba)
	return m, nil
}

func roundUp(n int64) int64 { return (n + SectorSize - 1) &^ (SectorSize - 1) }

func sectors(n int64) int64 { return roundUp(n) / SectorSize }
