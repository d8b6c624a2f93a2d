package fat

import "fmt"

// geometry is the shape of an image: its FAT type and the sizes of its
// regions in sectors.
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
