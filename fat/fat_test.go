package fat

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testDate = time.Date(2024, 3, 15, 13, 45, 30, 0, time.UTC)

func diff(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\ngot:\n%s\nwant:\n%s", what, hex.Dump(got), hex.Dump(want))
	}
}

// The expected bytes are written from fatgen103's field tables (offsets
// as the specification gives them), not from another tool's output.
func TestBootSectorFAT16Golden(t *testing.T) {
	bs := bootSector{Type: FAT16, SecPerClus: 4, RsvdSecCnt: 1, RootEntCnt: 512, TotSec: 40000, FATSz: 40, VolumeID: 0x12345678, VolumeLabel: "ESP"}
	w := make([]byte, 512)
	copy(w[0:], []byte{0xEB, 0x3C, 0x90}) // BS_jmpBoot to offset 62
	copy(w[3:], "MSWIN4.1")               // BS_OEMName
	copy(w[11:], []byte{0x00, 0x02})      // BPB_BytsPerSec 512
	w[13] = 4                             // BPB_SecPerClus
	copy(w[14:], []byte{1, 0})            // BPB_RsvdSecCnt
	w[16] = 2                             // BPB_NumFATs
	copy(w[17:], []byte{0x00, 0x02})      // BPB_RootEntCnt 512
	copy(w[19:], []byte{0x40, 0x9C})      // BPB_TotSec16 40000
	w[21] = 0xF8                          // BPB_Media
	copy(w[22:], []byte{40, 0})           // BPB_FATSz16
	copy(w[24:], []byte{32, 0})           // BPB_SecPerTrk
	copy(w[26:], []byte{64, 0})           // BPB_NumHeads
	w[36] = 0x80                          // BS_DrvNum
	w[38] = 0x29                          // BS_BootSig
	copy(w[39:], []byte{0x78, 0x56, 0x34, 0x12})
	copy(w[43:], "ESP        ")
	copy(w[54:], "FAT16   ")
	copy(w[62:], []byte{0xCD, 0x18})
	w[510], w[511] = 0x55, 0xAA
	diff(t, "FAT16 boot sector", bs.encode(), w)
}

func TestBootSectorFAT32Golden(t *testing.T) {
	bs := bootSector{Type: FAT32, SecPerClus: 1, RsvdSecCnt: 32, TotSec: 100000, FATSz: 770, VolumeID: 0xCAFEF00D, VolumeLabel: "LIVEISO"}
	w := make([]byte, 512)
	copy(w[0:], []byte{0xEB, 0x58, 0x90}) // jump to offset 90
	copy(w[3:], "MSWIN4.1")
	copy(w[11:], []byte{0x00, 0x02})
	w[13] = 1
	copy(w[14:], []byte{32, 0})
	w[16] = 2
	// BPB_RootEntCnt, BPB_TotSec16 and BPB_FATSz16 are 0 on FAT32.
	w[21] = 0xF8
	copy(w[24:], []byte{32, 0})
	copy(w[26:], []byte{64, 0})
	copy(w[32:], []byte{0xA0, 0x86, 0x01, 0x00}) // BPB_TotSec32 100000
	copy(w[36:], []byte{0x02, 0x03, 0, 0})       // BPB_FATSz32 770
	copy(w[44:], []byte{2, 0, 0, 0})             // BPB_RootClus
	copy(w[48:], []byte{1, 0})                   // BPB_FSInfo
	copy(w[50:], []byte{6, 0})                   // BPB_BkBootSec
	w[64] = 0x80
	w[66] = 0x29
	copy(w[67:], []byte{0x0D, 0xF0, 0xFE, 0xCA})
	copy(w[71:], "LIVEISO    ")
	copy(w[82:], "FAT32   ")
	copy(w[90:], []byte{0xCD, 0x18})
	w[510], w[511] = 0x55, 0xAA
	diff(t, "FAT32 boot sector", bs.encode(), w)

	w = make([]byte, 512)
	copy(w[0:], "RRaA")   // FSI_LeadSig 0x41615252
	copy(w[484:], "rrAa") // FSI_StrucSig 0x61417272
	copy(w[488:], []byte{5, 0, 0, 0})
	copy(w[492:], []byte{9, 0, 0, 0})
	copy(w[508:], []byte{0, 0, 0x55, 0xAA}) // FSI_TrailSig 0xAA550000
	diff(t, "FSInfo", (&fsInfo{FreeCount: 5, NextFree: 9}).encode(), w)
}

func TestFAT12Packing(t *testing.T) {
	// Two files: one of 3 clusters (2,3,4), one of 1 cluster (5).
	nodes := []*node{{cluster: 2, nclus: 3}, {cluster: 5, nclus: 1}}
	got := encodeFAT(FAT12, nodes, 6)
	// Entries F8F FFF 003 004 FFF FFF, packed two into three bytes, low
	// nibble first: entry n is at byte n*3/2.
	want := []byte{0xF8, 0xFF, 0xFF, 0x03, 0x40, 0x00, 0xFF, 0xFF, 0xFF}
	diff(t, "FAT12", got, want)
	got = encodeFAT(FAT16, nodes, 6)
	want = []byte{0xF8, 0xFF, 0xFF, 0xFF, 3, 0, 4, 0, 0xFF, 0xFF, 0xFF, 0xFF}
	diff(t, "FAT16", got, want)
	got = encodeFAT(FAT32, nodes[1:], 6)
	want = []byte{0xF8, 0xFF, 0xFF, 0x0F, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x0F}
	diff(t, "FAT32", got, want)
}

func TestDirEntryGolden(t *testing.T) {
	e := dirEntry{Attr: attrArchive, Time: testDate, Cluster: 0x00012345, FileSize: 1000}
	copy(e.Name[:], "BOOTX64 EFI")
	w := make([]byte, 32)
	copy(w, "BOOTX64 EFI")
	w[11] = 0x20
	// 2024-03-15: (44<<9)|(3<<5)|15 = 0x586F; 13:45:30: (13<<11)|(45<<5)|15 = 0x6DAF.
	for _, off := range []int{14, 22} {
		copy(w[off:], []byte{0xAF, 0x6D})
	}
	for _, off := range []int{16, 18, 24} {
		copy(w[off:], []byte{0x6F, 0x58})
	}
	copy(w[20:], []byte{0x01, 0x00}) // DIR_FstClusHI
	copy(w[26:], []byte{0x45, 0x23}) // DIR_FstClusLO
	copy(w[28:], []byte{0xE8, 0x03, 0, 0})
	diff(t, "directory entry", e.appendTo(nil), w)
}

// checksum restates the specification's ChkSum: rotate right, add.
func checksum(name []byte) byte {
	var s byte
	for _, c := range name {
		s = bits.RotateLeft8(s, -1) + c
	}
	return s
}

func TestLongEntriesGolden(t *testing.T) {
	var short [11]byte
	copy(short[:], "LOADER~1CON")
	if got, want := shortNameChecksum(short), checksum(short[:]); got != want {
		t.Fatalf("checksum %#x, want %#x", got, want)
	}
	// "loader.conf" is 11 characters: one entry, the name, a 0x0000, one 0xFFFF.
	got := appendLongEntries(nil, "loader.conf", short)
	w := make([]byte, 32)
	w[0] = 0x41 // LDIR_Ord 1 | LAST_LONG_ENTRY
	chars := []uint16{'l', 'o', 'a', 'd', 'e', 'r', '.', 'c', 'o', 'n', 'f', 0, 0xFFFF}
	offs := []int{1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30}
	for i, c := range chars {
		binary.LittleEndian.PutUint16(w[offs[i]:], c)
	}
	w[11] = 0x0F
	w[13] = checksum(short[:])
	diff(t, "long entry", got, w)

	// 14 characters: two entries, the second part stored first.
	got = appendLongEntries(nil, "abcdefghijklmn", short)
	if len(got) != 64 || got[0] != 0x42 || got[32] != 0x01 || got[32+1] != 'a' || got[1] != 'n' || binary.LittleEndian.Uint16(got[3:]) != 0 || binary.LittleEndian.Uint16(got[5:]) != 0xFFFF {
		t.Fatalf("two entries:\n%s", hex.Dump(got))
	}
}

func TestShortNames(t *testing.T) {
	got, long, err := shortNames([]string{"BOOTX64.EFI", "grub.cfg", "grub.cfg.old", "Long File Name.txt", "Long File Name2.txt", ".hidden"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"BOOTX64 EFI", "GRUB~1  CFG", "GRUBCF~1OLD", "LONGFI~1TXT", "LONGFI~2TXT", "HIDDEN~1   "}
	for i := range want {
		if string(got[i][:]) != want[i] {
			t.Errorf("short name %d: %q, want %q", i, got[i][:], want[i])
		}
		if long[i] != (i != 0) {
			t.Errorf("name %d: long %v", i, long[i])
		}
	}
}

func testFiles(sizes ...int) []File {
	var fs []File
	names := []string{"EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/grub.cfg", "loader/entries/liveiso.conf", "A Long Name With Spaces.bin", "dir/sub/dir/deep file"}
	for i, s := range sizes {
		b := bytes.Repeat([]byte(fmt.Sprintf("file %d;", i)), s/7+1)[:s]
		fs = append(fs, File{Path: names[i%len(names)], Size: int64(s), Source: bytes.NewReader(b)})
	}
	return fs
}

func writeImage(t *testing.T, im *Image) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "esp.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, io.NewSectionReader(im, 0, im.Size())); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Images of every FAT type pass fsck.vfat, and mtools reads every file back.
func TestToolsAgree(t *testing.T) {
	if _, err := exec.LookPath("fsck.vfat"); err != nil {
		t.Fatal("fsck.vfat is not installed (Debian package dosfstools; scripts/setup.sh installs it)")
	}
	for _, tc := range []struct {
		name    string
		in      Input
		want    Type
		sizes   []int
		wantLen int64
	}{
		{"fat12", Input{Label: "ESP"}, FAT12, []int{3 << 20, 300, 0, 5000, 70000}, 0},
		{"fat16", Input{Label: "ESP", MinSizeBytes: 20 << 20, ClusterSectors: 1}, FAT16, []int{1 << 20, 10, 1}, 20 << 20},
		{"fat32", Input{Label: "LIVEISO", MinSizeBytes: 40 << 20, ClusterSectors: 1}, FAT32, []int{100000, 7, 3000, 12345, 1}, 40 << 20},
		{"fat32-big-files", Input{ClusterSectors: 1}, FAT32, []int{40 << 20, 1 << 20}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.in
			in.Date, in.VolumeID = testDate, 0x1234ABCD
			in.Files = testFiles(tc.sizes...)
			im, err := Plan(in)
			if err != nil {
				t.Fatal(err)
			}
			if im.Type() != tc.want {
				t.Fatalf("type %v, want %v", im.Type(), tc.want)
			}
			if tc.wantLen != 0 && im.Size() != tc.wantLen {
				t.Fatalf("size %d, want %d", im.Size(), tc.wantLen)
			}
			if im.Size()%2048 != 0 {
				t.Fatalf("size %d: not whole 2048-byte sectors", im.Size())
			}
			path := writeImage(t, im)
			out, err := exec.Command("fsck.vfat", "-n", "-v", path).CombinedOutput()
			if err != nil || strings.Contains(string(out), "differ") || strings.Contains(string(out), "Wrong") {
				t.Fatalf("fsck.vfat -n: %v\n%s", err, out)
			}
			if _, err := exec.LookPath("mtype"); err != nil {
				t.Fatal("mtype is not installed (Debian package mtools; scripts/setup.sh installs it)")
			}
			for _, f := range in.Files {
				got, err := exec.Command("mtype", "-i", path, "::"+f.Path).Output()
				if err != nil {
					t.Fatalf("mtype %s: %v", f.Path, err)
				}
				want := make([]byte, f.Size)
				if f.Size > 0 {
					f.Source.ReadAt(want, 0)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: mtype read %d bytes, differing from the %d of the source", f.Path, len(got), len(want))
				}
			}
			dir, err := exec.Command("mdir", "-i", path, "-/", "-b", "::").Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range in.Files {
				if !strings.Contains(string(dir), "::/"+f.Path) {
					t.Errorf("mdir -/ -b does not list %s:\n%s", f.Path, dir)
				}
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	for _, files := range [][]File{
		{{Path: "a", Size: 1}},
		{{Path: "a"}, {Path: "A"}},
		{{Path: "a"}, {Path: "a/b"}},
		{{Path: "a/../b"}},
		{{Path: "a:b"}},
	} {
		if _, err := Plan(Input{Files: files}); err == nil {
			t.Errorf("%+v: no error", files)
		}
	}
}
