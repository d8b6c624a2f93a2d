package isolayout

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/liveiso/liveiso/extent"
)

// uefiTree is a small tree with a BIOS loader, an "ESP image" and an initrd.
func uefiTree(t *testing.T, initrd []byte, hybridMBR bool) Input {
	loader := mustRead(t, "/usr/lib/ISOLINUX/isolinux.bin")
	in := initrdNode(initrd)
	in.Name = "initrd.img"
	root := dir("",
		dir("isolinux", file("isolinux.bin", 0o444, loader), file("vmlinuz", 0o444, pattern(50_000, 3)), in),
		dir("boot", file("efi.img", 0o444, pattern(40_000, 4))),
	)
	input := Input{VolumeID: "LIVEISO", Date: testDate, Root: root, ElTorito: &ElTorito{
		CatalogPath: "isolinux/boot.cat", LoaderPath: "isolinux/isolinux.bin", Loader: loader,
		BootInfoTable: true, EFIImagePath: "boot/efi.img",
	}}
	if hybridMBR {
		input.Hybrid = &Hybrid{MBRCode: mustRead(t, "/usr/lib/ISOLINUX/isohdpfx.bin"), Seed: "test"}
	}
	return input
}

func initrdNode(b []byte) *Node {
	n := file("initrd.img", 0o444, b)
	n.Volatile = true
	return n
}

func extentNamed(l *Layout, name string) extent.Extent {
	for _, e := range l.Extents() {
		if e.Name == name {
			return e
		}
	}
	return extent.Extent{}
}

// lbaOf is the sector an extent starts in.
func lbaOf(e extent.Extent) uint32 { return uint32(e.Offset / SectorSize) }

// El Torito 1.0 2.3/2.4: after the default entry, a final section header
// for platform 0xEF with one no-emulation entry pointing at the EFI image.
func TestCatalogEFISectionGolden(t *testing.T) {
	l, err := Plan(uefiTree(t, pattern(10_000, 5), false))
	if err != nil {
		t.Fatal(err)
	}
	img := readAll(t, l)
	cat := extentNamed(l, "/isolinux/boot.cat")
	esp := extentNamed(l, "/boot/efi.img")
	loader := extentNamed(l, "/isolinux/isolinux.bin")
	got := img[int64(lbaOf(cat))*SectorSize:][:4*catalogEntryLen]
	want := make([]byte, 4*catalogEntryLen)
	want[0], want[30], want[31] = 0x01, 0x55, 0xAA                  // validation entry, platform 0 (x86)
	binary.LittleEndian.PutUint16(want[28:], 0x10000-0x0001-0xAA55) // the sixteen words sum to zero
	e := want[32:]
	e[0] = 0x88 // bootable, no emulation, load segment 0, 4 sectors
	e[6] = 4
	binary.LittleEndian.PutUint32(e[8:], lbaOf(loader))
	h := want[64:]
	h[0], h[1], h[2] = 0x91, 0xEF, 1 // final section header, EFI, one entry
	s := want[96:]
	s[0] = 0x88
	binary.LittleEndian.PutUint16(s[6:], uint16((40_000+511)/512))
	binary.LittleEndian.PutUint32(s[8:], lbaOf(esp))
	diffBytes(t, "boot catalog", got, want)
	if lbaOf(esp) != lbaOf(loader)+sectorsOf(loader.SizeBytes) {
		t.Errorf("EFI image at %d, want right after the loader (%d)", lbaOf(esp), lbaOf(loader))
	}
	if !bytes.Equal(img[SectorSize*0:SectorSize*16], make([]byte, 16*SectorSize)) {
		t.Error("system area not zero without Hybrid")
	}
}

func sectorsOf(n int64) uint32 { return uint32(sectors(n)) }

func TestUEFIOnlyCatalog(t *testing.T) {
	in := uefiTree(t, pattern(10_000, 5), false)
	in.ElTorito.LoaderPath, in.ElTorito.Loader, in.ElTorito.BootInfoTable = "", nil, false
	l, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	img := readAll(t, l)
	cat := img[int64(lbaOf(extentNamed(l, "/isolinux/boot.cat")))*SectorSize:]
	if cat[1] != 0xEF || cat[32] != 0x88 || binary.LittleEndian.Uint32(cat[40:]) != lbaOf(extentNamed(l, "/boot/efi.img")) || cat[64] != 0 {
		t.Fatalf("UEFI-only catalog:\n% x", cat[:96])
	}
}

// The hybrid system area: the MBR points at isolinux.bin and the ESP, the
// GPT headers' CRC32s hold, the backup header is the image's last LBA, and
// an initrd edit changes only the system area, the PVD, the initrd's record
// and data, and the backup GPT.
func TestHybridSystemArea(t *testing.T) {
	l, err := Plan(uefiTree(t, pattern(10_000, 5), true))
	if err != nil {
		t.Fatal(err)
	}
	img := readAll(t, l)
	loader := extentNamed(l, "/isolinux/isolinux.bin")
	esp := extentNamed(l, "/boot/efi.img")
	if got := binary.LittleEndian.Uint64(img[432:]); got != uint64(lbaOf(loader))*4 {
		t.Errorf("isohybrid loader LBA %d, want %d", got, lbaOf(loader)*4)
	}
	p1, p2 := img[446:462], img[462:478]
	if p1[4] != 0xEE || p1[0] != 0 || binary.LittleEndian.Uint32(p1[8:]) != 1 || binary.LittleEndian.Uint32(p1[12:]) != lbaOf(esp)*4-1 {
		t.Errorf("MBR partition 1: % x", p1)
	}
	if p2[4] != 0xEF || p2[0] != 0x80 || binary.LittleEndian.Uint32(p2[8:]) != lbaOf(esp)*4 || binary.LittleEndian.Uint32(p2[12:]) != uint32((40_000+2047)/2048*4) {
		t.Errorf("MBR partition 2: % x", p2)
	}
	last := len(img)/512 - 1
	for _, hdr := range []struct {
		lba, mine, alt, entries int
	}{{1, 1, last, 2}, {last, last, 1, last - 32}} {
		h := img[hdr.lba*512:][:512]
		if string(h[:8]) != "EFI PART" || binary.LittleEndian.Uint64(h[24:]) != uint64(hdr.mine) || binary.LittleEndian.Uint64(h[32:]) != uint64(hdr.alt) || binary.LittleEndian.Uint64(h[72:]) != uint64(hdr.entries) {
			t.Fatalf("GPT header at LBA %d:\n% x", hdr.lba, h[:96])
		}
		c := slices.Clone(h[:92])
		clear(c[16:20])
		if crc32.ChecksumIEEE(c) != binary.LittleEndian.Uint32(h[16:]) {
			t.Errorf("GPT header at LBA %d: bad CRC32", hdr.lba)
		}
		if crc32.ChecksumIEEE(img[hdr.entries*512:][:128*128]) != binary.LittleEndian.Uint32(h[88:]) {
			t.Errorf("GPT entries at LBA %d: bad CRC32", hdr.entries)
		}
	}

	l2, err := Plan(uefiTree(t, pattern(300_000, 6), true))
	if err != nil {
		t.Fatal(err)
	}
	img2 := readAll(t, l2)
	initrd := extentNamed(l2, "/isolinux/initrd.img")
	dirLBA := lbaOf(extentNamed(l2, "directory /isolinux"))
	for _, s := range changedSectors(img, img2) {
		switch {
		case s == 0, s == pvdLBA, s == int(dirLBA), s >= int(lbaOf(initrd)):
		default:
			t.Errorf("sector %d changed with the initrd", s)
		}
	}
}

func TestHybridErrors(t *testing.T) {
	in := uefiTree(t, pattern(10, 5), true)
	in.ElTorito.Loader = make([]byte, len(in.ElTorito.Loader)) // no isohybrid signature
	if _, err := Plan(in); err == nil {
		t.Error("a loader without the isohybrid signature: no error")
	}
	in = uefiTree(t, pattern(10, 5), false)
	in.ElTorito.EFIImagePath = "isolinux/initrd.img"
	if _, err := Plan(in); !errors.Is(err, ErrBootPath) {
		t.Errorf("volatile EFI image: %v", err)
	}
}
