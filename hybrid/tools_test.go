package hybrid

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeDisk writes a sparse disk image of sectors LBAs with the given
// sectors at the given LBAs.
func writeDisk(t *testing.T, sectors int64, at map[int64][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for lba, b := range at {
		if _, err := f.WriteAt(b, lba*SectorSize); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(sectors * SectorSize); err != nil {
		t.Fatal(err)
	}
	return path
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not installed (the fdisk and gdisk packages provide sfdisk and sgdisk; scripts/setup.sh installs them): %v", name, err)
	}
	return p
}

// sfdiskTable is the part of `sfdisk --json` these tests read.
type sfdiskTable struct {
	PartitionTable struct {
		Label      string `json:"label"`
		ID         string `json:"id"`
		FirstLBA   uint64 `json:"firstlba"`
		LastLBA    uint64 `json:"lastlba"`
		Partitions []struct {
			Start    uint64 `json:"start"`
			Size     uint64 `json:"size"`
			Type     string `json:"type"`
			UUID     string `json:"uuid"`
			Name     string `json:"name"`
			Bootable bool   `json:"bootable"`
		} `json:"partitions"`
	} `json:"partitiontable"`
}

func sfdisk(t *testing.T, path string) sfdiskTable {
	t.Helper()
	out, err := exec.Command(requireTool(t, "sfdisk"), "--json", path).CombinedOutput()
	if err != nil {
		t.Fatalf("sfdisk --json: %v\n%s", err, out)
	}
	var tab sfdiskTable
	if err := json.Unmarshal(out, &tab); err != nil {
		t.Fatalf("sfdisk --json: %v\n%s", err, out)
	}
	return tab
}

// TestToolsReadGPT hands a hybrid MBR and a GPT, laid out as isolayout
// lays them out, to sfdisk and sgdisk.
func TestToolsReadGPT(t *testing.T) {
	const disk = 20000
	id, _ := ParseGUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4")
	diskGUID, _ := ParseGUID("11111111-2222-4333-8444-555555555555")
	g := GPT{DiskGUID: diskGUID, DiskSectors: disk, Partitions: []GPTPartition{{
		Type: EFISystemPartition, ID: id, FirstLBA: 100, LastLBA: 8291, Name: "EFI System Partition",
	}}}
	m := MBR{DiskSignature: 0x01020304}
	m.Partitions[0] = MBRPartition{Type: TypeGPTProtective, StartLBA: 1, Sectors: 99}
	m.Partitions[1] = MBRPartition{Active: true, Type: TypeEFISystem, StartLBA: 100, Sectors: 8192}
	primary, err := g.Primary()
	if err != nil {
		t.Fatal(err)
	}
	backup, err := g.Backup()
	if err != nil {
		t.Fatal(err)
	}
	path := writeDisk(t, disk, map[int64][]byte{0: m.Encode(), 1: primary, disk - TableSectors: backup})

	tab := sfdisk(t, path).PartitionTable
	if tab.Label != "gpt" || tab.ID != diskGUID.String() || tab.FirstLBA != 34 || tab.LastLBA != disk-34 || len(tab.Partitions) != 1 {
		t.Fatalf("sfdisk: %+v", tab)
	}
	p := tab.Partitions[0]
	if p.Start != 100 || p.Size != 8192 || p.Type != EFISystemPartition.String() || p.UUID != id.String() || p.Name != "EFI System Partition" {
		t.Errorf("sfdisk partition: %+v", p)
	}

	out, err := exec.Command(requireTool(t, "sgdisk"), "-v", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No problems found") {
		t.Errorf("sgdisk -v: %v\n%s", err, out)
	}
}

// TestToolsReadMBR hands an MBR alone to sfdisk.
func TestToolsReadMBR(t *testing.T) {
	m := MBR{DiskSignature: 0xA1B2C3D4}
	m.Partitions[0] = MBRPartition{Active: true, Type: 0x83, StartLBA: 2048, Sectors: 4096}
	m.Partitions[3] = MBRPartition{Type: 0x0C, StartLBA: 8192, Sectors: 100}
	tab := sfdisk(t, writeDisk(t, 10000, map[int64][]byte{0: m.Encode()})).PartitionTable
	if tab.Label != "dos" || tab.ID != "0xa1b2c3d4" || len(tab.Partitions) != 2 {
		t.Fatalf("sfdisk: %+v", tab)
	}
	p, q := tab.Partitions[0], tab.Partitions[1]
	if p.Start != 2048 || p.Size != 4096 || p.Type != "83" || !p.Bootable {
		t.Errorf("first partition: %+v", p)
	}
	if q.Start != 8192 || q.Size != 100 || q.Type != "c" || q.Bootable {
		t.Errorf("fourth partition: %+v", q)
	}
}
