package hybrid

import (
	"bytes"
	"reflect"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// FuzzMBR encodes arbitrary MBRs and reads them back.
func FuzzMBR(f *testing.F) {
	f.Add([]byte{0xFA, 0xEB}, uint32(0x11223344), false, byte(0xEE), uint32(1), uint32(99), true, byte(0xEF), uint32(100), uint32(8192))
	f.Add([]byte(nil), uint32(0), true, byte(0), uint32(0), uint32(0xFFFFFFFF), false, byte(0), uint32(0), uint32(0))
	f.Add(bytes.Repeat([]byte{0x90}, 500), uint32(1), true, byte(0x83), uint32(3_000_000), uint32(1), false, byte(0), uint32(5), uint32(0))
	f.Fuzz(func(t *testing.T, code []byte, sig uint32, a0 bool, t0 byte, s0, n0 uint32, a1 bool, t1 byte, s1, n1 uint32) {
		if len(code) > 440 {
			code = code[:440]
		}
		m := MBR{BootCode: code, DiskSignature: sig}
		m.Partitions[0] = MBRPartition{Active: a0, Type: t0, StartLBA: s0, Sectors: n0}
		m.Partitions[2] = MBRPartition{Active: a1, Type: t1, StartLBA: s1, Sectors: n1}
		got, chs, err := readMBR(m.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.BootCode[:len(code)], code) || !allZeros(got.BootCode[len(code):]) || got.DiskSignature != sig {
			t.Errorf("boot code or disk signature changed")
		}
		for i, want := range m.Partitions {
			if want.Type == TypeEmpty && want.Sectors == 0 {
				want = MBRPartition{} // an unused entry is all zeros
			}
			if got.Partitions[i] != want {
				t.Errorf("partition %d: %+v, want %+v", i+1, got.Partitions[i], want)
			}
			if want == (MBRPartition{}) {
				continue
			}
			for j, lba := range []uint32{want.StartLBA, want.StartLBA + want.Sectors - 1} {
				if lba >= 1024*64*32 {
					lba = ^uint32(0)
				}
				if chs[i][j] != lba {
					t.Errorf("partition %d: CHS %d says LBA %d, want %d", i+1, j, chs[i][j], lba)
				}
			}
		}
	})
}

func allZeros(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

// FuzzGPT encodes arbitrary one-partition GPTs, reads both copies back and
// checks that they agree with the input and with each other.
func FuzzGPT(f *testing.F) {
	f.Add(uint64(10000), uint64(100), uint64(8291), uint64(0), "EFI System Partition", []byte{1, 2, 3})
	f.Add(uint64(68), uint64(34), uint64(34), uint64(1<<63), "", []byte(nil))
	f.Add(uint64(1<<40), uint64(34), uint64(1<<39), uint64(7), "a name longer than thirty-six UTF-16 code units", []byte{0xFF})
	f.Add(uint64(10), uint64(34), uint64(100), uint64(0), "tiny disk", []byte(nil))
	f.Fuzz(func(t *testing.T, disk, first, last, attrs uint64, name string, seed []byte) {
		id := GUIDFromHash(append(seed, make([]byte, 16)...)[:16])
		g := GPT{DiskGUID: GUIDFromHash(append(append(seed, 1), make([]byte, 16)...)[:16]), DiskSectors: disk,
			Partitions: []GPTPartition{{Type: EFISystemPartition, ID: id, FirstLBA: first, LastLBA: last, Attributes: attrs, Name: name}}}
		primary, err := g.Primary()
		fits := disk >= 1+2*TableSectors+1 && first >= 1+TableSectors && last >= first && last <= disk-1-TableSectors
		if !fits {
			if err == nil {
				t.Fatalf("disk of %d LBAs, partition %d-%d: no error", disk, first, last)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		backup, err := g.Backup()
		if err != nil {
			t.Fatal(err)
		}
		if len(primary) != TableSectors*SectorSize || len(backup) != TableSectors*SectorSize {
			t.Fatalf("tables of %d and %d bytes", len(primary), len(backup))
		}
		ph, err := readGPTHeader(primary[:SectorSize])
		if err != nil {
			t.Fatalf("primary: %v", err)
		}
		bh, err := readGPTHeader(backup[len(backup)-SectorSize:])
		if err != nil {
			t.Fatalf("backup: %v", err)
		}
		want := gptHeader{MyLBA: 1, AlternateLBA: disk - 1, FirstUsable: 34, LastUsable: disk - 34, EntryLBA: 2,
			DiskGUID: g.DiskGUID, Entries: 128, EntrySize: 128, EntryArrayCRC: ph.EntryArrayCRC}
		if ph != want {
			t.Errorf("primary header %+v, want %+v", ph, want)
		}
		want.MyLBA, want.AlternateLBA, want.EntryLBA = disk-1, 1, disk-33
		if bh != want {
			t.Errorf("backup header %+v, want %+v", bh, want)
		}
		pe, err := readGPTEntries(primary[SectorSize:], ph)
		if err != nil {
			t.Fatalf("primary entries: %v", err)
		}
		be, err := readGPTEntries(backup[:len(backup)-SectorSize], bh)
		if err != nil {
			t.Fatalf("backup entries: %v", err)
		}
		if !reflect.DeepEqual(pe, be) || len(pe) != 1 {
			t.Fatalf("entries %+v and %+v", pe, be)
		}
		wantName := pe[0].Name // a name that does not fit, or is not UTF-8, is not kept as is
		if utf8.ValidString(name) && len(utf16.Encode([]rune(name))) <= 36 && !bytes.ContainsRune([]byte(name), 0) {
			wantName = name
		}
		p := g.Partitions[0]
		p.Name = wantName
		if pe[0] != p {
			t.Errorf("entry %+v, want %+v", pe[0], p)
		}
	})
}
