package hybrid

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"testing"
)

func diff(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("%s: first difference at byte %d: got %#02x, want %#02x\n%s", what, i, got[i], want[i], hex.Dump(got[max(0, i-16):min(len(got), i+32)]))
			}
		}
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
}

func TestGUID(t *testing.T) {
	g, err := ParseGUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
	if err != nil {
		t.Fatal(err)
	}
	// UEFI 2.10 Appendix A: Data1-3 little-endian, Data4 as bytes.
	want := []byte{0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B}
	diff(t, "ESP type GUID", g[:], want)
	if g != EFISystemPartition || g.String() != "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" {
		t.Fatalf("GUID %v", g)
	}
}

// Expected bytes from UEFI 2.10 Table 5-1/5-2 (legacy MBR, partition record).
func TestMBRGolden(t *testing.T) {
	m := MBR{BootCode: []byte{0xFA, 0xEB}, DiskSignature: 0x11223344}
	m.Partitions[0] = MBRPartition{Type: TypeGPTProtective, StartLBA: 1, Sectors: 99}
	m.Partitions[1] = MBRPartition{Active: true, Type: TypeEFISystem, StartLBA: 100, Sectors: 8192}
	w := make([]byte, 512)
	w[0], w[1] = 0xFA, 0xEB
	copy(w[440:], []byte{0x44, 0x33, 0x22, 0x11})
	// 0x00, CHS of LBA 1 (C0 H0 S2), 0xEE, CHS of LBA 99 (C0 H3 S4), 1, 99.
	copy(w[446:], []byte{0x00, 0, 2, 0, 0xEE, 3, 4, 0, 1, 0, 0, 0, 99, 0, 0, 0})
	// 0x80, CHS of LBA 100 (C0 H3 S5), 0xEF, CHS of LBA 8291 (C4 H3 S4).
	copy(w[462:], []byte{0x80, 3, 5, 0, 0xEF, 3, 4, 4, 100, 0, 0, 0, 0x00, 0x20, 0, 0})
	w[510], w[511] = 0x55, 0xAA
	diff(t, "MBR", m.Encode(), w)

	var big [3]byte
	putCHS(big[:], 3_000_000)
	diff(t, "CHS beyond cylinder 1023", big[:], []byte{0xFE, 0xFF, 0xFF})
}

func TestIsohybridBootCode(t *testing.T) {
	code := bytes.Repeat([]byte{0x90}, 432)
	loader := make([]byte, 2048)
	if _, err := IsohybridBootCode(code, loader, 8); err != ErrNotHybridLoader {
		t.Fatalf("loader without signature: %v", err)
	}
	binary.LittleEndian.PutUint32(loader[0x40:], 0x7078C0FB)
	got, err := IsohybridBootCode(code, loader, 0x2088)
	if err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Repeat([]byte{0x90}, 432), 0x88, 0x20, 0, 0, 0, 0, 0, 0)
	diff(t, "isohybrid boot code", got, want)
}

// Expected bytes from UEFI 2.10 Table 5-5 (GPT header) and 5-9 (entry); the
// CRC32s are recomputed here over the spec's ranges.
func TestGPTGolden(t *testing.T) {
	disk := GUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	id := GUID{0xAA}
	g := GPT{DiskGUID: disk, DiskSectors: 10000, Partitions: []GPTPartition{{
		Type: EFISystemPartition, ID: id, FirstLBA: 100, LastLBA: 8291, Name: "EFI",
	}}}
	p, err := g.Primary()
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 33*512 {
		t.Fatalf("primary: %d bytes", len(p))
	}
	entries := make([]byte, 128*128)
	copy(entries[0:], EFISystemPartition[:])
	copy(entries[16:], id[:])
	copy(entries[32:], []byte{100, 0, 0, 0, 0, 0, 0, 0})
	copy(entries[40:], []byte{0x63, 0x20, 0, 0, 0, 0, 0, 0})
	copy(entries[56:], []byte{'E', 0, 'F', 0, 'I', 0})
	diff(t, "entry array", p[512:], entries)

	h := make([]byte, 512)
	copy(h, "EFI PART")
	copy(h[8:], []byte{0, 0, 1, 0})   // Revision 1.0
	copy(h[12:], []byte{92, 0, 0, 0}) // HeaderSize
	copy(h[24:], []byte{1, 0, 0, 0, 0, 0, 0, 0})
	binary.LittleEndian.PutUint64(h[32:], 9999) // AlternateLBA: the last LBA
	binary.LittleEndian.PutUint64(h[40:], 34)   // FirstUsableLBA
	binary.LittleEndian.PutUint64(h[48:], 9966) // LastUsableLBA: before the backup array
	copy(h[56:], disk[:])
	binary.LittleEndian.PutUint64(h[72:], 2)
	binary.LittleEndian.PutUint32(h[80:], 128)
	binary.LittleEndian.PutUint32(h[84:], 128)
	binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(entries))
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
	diff(t, "primary header", p[:512], h)

	b, err := g.Backup()
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "backup entry array", b[:len(entries)], entries)
	bh := b[len(entries):]
	if got := binary.LittleEndian.Uint64(bh[24:]); got != 9999 {
		t.Errorf("backup MyLBA %d", got)
	}
	if got := binary.LittleEndian.Uint64(bh[32:]); got != 1 {
		t.Errorf("backup AlternateLBA %d", got)
	}
	if got := binary.LittleEndian.Uint64(bh[72:]); got != 9967 {
		t.Errorf("backup PartitionEntryLBA %d", got)
	}
	crc := binary.LittleEndian.Uint32(bh[16:])
	chk := append([]byte(nil), bh[:92]...)
	clear(chk[16:20])
	if crc32.ChecksumIEEE(chk) != crc {
		t.Errorf("backup header CRC32 %#x wrong", crc)
	}

	g.Partitions[0].LastLBA = 9967
	if _, err := g.Primary(); err == nil {
		t.Error("a partition over the backup array: no error")
	}
}
