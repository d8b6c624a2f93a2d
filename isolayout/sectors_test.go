package isolayout

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

// TestAssignSectors checks the sector map for sizes given as numbers: what
// starts where, and how many sectors each thing takes.
func TestAssignSectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  sectorRequest
		want sectorMap
	}{{
		name: "empty tree, not bootable",
		// PVD 16, terminator 17, path tables of one sector each at 18 and
		// 19, the root directory at 20, no continuation area.
		req:  sectorRequest{pathTableBytes: 10, dirBytes: []int64{SectorSize}},
		want: sectorMap{terminator: 17, lPathTable: 18, mPathTable: 19, dirs: []uint32{20}, continuation: 21, files: []uint32{}, volumeSectors: 21},
	}, {
		name: "bootable: the boot record is sector 17",
		req:  sectorRequest{bootRecord: true, pathTableBytes: 10, dirBytes: []int64{SectorSize}, fileBytes: []int64{SectorSize}},
		want: sectorMap{bootRecord: bootRecordLBA, terminator: 18, lPathTable: 19, mPathTable: 20, dirs: []uint32{21}, continuation: 22, files: []uint32{22}, volumeSectors: 23},
	}, {
		name: "sizes round up to whole sectors",
		req: sectorRequest{pathTableBytes: SectorSize + 1, dirBytes: []int64{SectorSize, 3 * SectorSize},
			continuationBytes: 100, fileBytes: []int64{1, SectorSize, SectorSize + 1}},
		want: sectorMap{terminator: 17, lPathTable: 18, mPathTable: 20, dirs: []uint32{22, 23}, continuation: 26,
			files: []uint32{27, 28, 29}, volumeSectors: 31},
	}, {
		name: "an empty file gets LBA 0 and no sectors",
		req:  sectorRequest{pathTableBytes: 10, dirBytes: []int64{SectorSize}, fileBytes: []int64{5, 0, 5}},
		want: sectorMap{terminator: 17, lPathTable: 18, mPathTable: 19, dirs: []uint32{20}, continuation: 21, files: []uint32{21, 0, 22}, volumeSectors: 23},
	}, {
		name: "the backup GPT is last",
		req:  sectorRequest{bootRecord: true, pathTableBytes: 10, dirBytes: []int64{SectorSize}, fileBytes: []int64{SectorSize, 40_000}, backupGPT: true},
		// 33 512-byte LBAs of backup GPT are 9 ISO sectors.
		want: sectorMap{bootRecord: 17, terminator: 18, lPathTable: 19, mPathTable: 20, dirs: []uint32{21}, continuation: 22,
			files: []uint32{22, 23}, backupGPT: 43, volumeSectors: 52},
	}, {
		name: "joliet: its descriptor before the terminator, its path tables and directories after the primary ones",
		// PVD 16, boot record 17, Joliet SVD 18, terminator 19; path
		// tables L, M, Joliet L, Joliet M at 20-23; primary directories
		// 24-25, Joliet directories 26-27; then the continuation area
		// and the files, whose places do not depend on Joliet's sizes
		// but through the count of sectors before them.
		req: sectorRequest{bootRecord: true, pathTableBytes: 10, dirBytes: []int64{SectorSize, SectorSize},
			joliet: true, jolietPTBytes: 12, jolietDirBytes: []int64{SectorSize, SectorSize},
			continuationBytes: 10, fileBytes: []int64{5, 40_000}},
		want: sectorMap{bootRecord: 17, joliet: 18, terminator: 19, lPathTable: 20, mPathTable: 21, jLPathTable: 22, jMPathTable: 23,
			dirs: []uint32{24, 25}, jolietDirs: []uint32{26, 27}, continuation: 28, files: []uint32{29, 30}, volumeSectors: 50},
	}, {
		name: "a multi-extent file is one run of sectors",
		req:  sectorRequest{pathTableBytes: 10, dirBytes: []int64{SectorSize}, fileBytes: []int64{9 << 30, 1}},
		want: sectorMap{terminator: 17, lPathTable: 18, mPathTable: 19, dirs: []uint32{20}, continuation: 21,
			files: []uint32{21, 21 + 9<<30/SectorSize}, volumeSectors: 22 + 9<<30/SectorSize},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := assignSectors(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestAssignSectorsTooLarge(t *testing.T) {
	// The last sector an image can have is 2^32-1: a file that ends there
	// fits, one more sector does not.
	fits := int64(math.MaxUint32-21) * SectorSize
	req := sectorRequest{pathTableBytes: 10, dirBytes: []int64{SectorSize}, fileBytes: []int64{fits}}
	m, err := assignSectors(req)
	if err != nil || m.volumeSectors != math.MaxUint32 {
		t.Fatalf("largest image: %d sectors, %v", m.volumeSectors, err)
	}
	req.fileBytes[0]++
	if _, err := assignSectors(req); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("one sector more: %v, want ErrTooLarge", err)
	}
}
