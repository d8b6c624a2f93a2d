package isolayout

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// catalogEntry is a 32-byte boot catalog entry as this test reads it,
// with offsets from El Torito 1.0 2.1-2.4, independent of eltorito.go.
type catalogEntry []byte

func (e catalogEntry) u16(off int) uint16 { return binary.LittleEndian.Uint16(e[off:]) }
func (e catalogEntry) u32(off int) uint32 { return binary.LittleEndian.Uint32(e[off:]) }

// checkBootEntry compares a 2.2 Initial/Default Entry (or 2.4 Section Entry)
// with what it must say.
func checkBootEntry(t *testing.T, what string, e catalogEntry, count uint16, rba uint32) {
	t.Helper()
	if e[0] != 0x88 || e[1] != 0 || e.u16(2) != 0 || e[4] != 0 || e[5] != 0 || e.u16(6) != count || e.u32(8) != rba || !allZero(e[12:32]) {
		t.Errorf("%s: % x, want bootable, no emulation, %d sectors at %d", what, e, count, rba)
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// FuzzBootCatalog plans the catalog of arbitrary boot files and reads it
// back: the validation entry's checksum, the default entry, the EFI
// section, and zeros after the last entry.
func FuzzBootCatalog(f *testing.F) {
	f.Add(true, false, uint32(30), uint16(0), uint32(0), int64(0))
	f.Add(true, true, uint32(30), uint16(4), uint32(31), int64(40_000))
	f.Add(false, true, uint32(0), uint16(0), uint32(22), int64(1<<40))
	f.Add(true, true, uint32(0xFFFFFFFF), uint16(0xFFFF), uint32(0xFFFFFFFF), int64(0xFFFF*512+1))
	f.Fuzz(func(t *testing.T, bios, uefi bool, loaderLBA uint32, loadSectors uint16, espLBA uint32, espBytes int64) {
		if !bios && !uefi || espBytes <= 0 && uefi {
			return // planBoot refuses these
		}
		b := &bootPlan{et: &ElTorito{LoadSectors: loadSectors}, catalog: &pnode{}}
		if bios {
			b.loader = &pnode{lba: loaderLBA}
		}
		if uefi {
			b.esp = &pnode{lba: espLBA, size: espBytes}
		}
		cat := b.bootCatalog().encode()
		if len(cat) != SectorSize {
			t.Fatalf("catalog of %d bytes", len(cat))
		}
		v := catalogEntry(cat[0:32])
		var sum uint16
		for i := 0; i < 32; i += 2 {
			sum += v.u16(i)
		}
		wantPlatform := byte(0x00)
		if !bios {
			wantPlatform = 0xEF
		}
		if v[0] != 0x01 || v[1] != wantPlatform || v[30] != 0x55 || v[31] != 0xAA || sum != 0 {
			t.Errorf("validation entry % x: header, platform %#x, key bytes or checksum (sum %#x)", v, wantPlatform, sum)
		}
		espCount := uint16(min((espBytes+511)/512, 0xFFFF))
		end := 64
		switch {
		case bios:
			want := loadSectors
			if want == 0 {
				want = 4
			}
			checkBootEntry(t, "default entry", catalogEntry(cat[32:64]), want, loaderLBA)
			if uefi {
				h := catalogEntry(cat[64:96])
				if h[0] != 0x91 || h[1] != 0xEF || h.u16(2) != 1 || !allZero(h[4:32]) {
					t.Errorf("section header % x, want final, platform EFI, one entry", h)
				}
				checkBootEntry(t, "EFI section entry", catalogEntry(cat[96:128]), espCount, espLBA)
				end = 128
			}
		default:
			checkBootEntry(t, "default entry", catalogEntry(cat[32:64]), espCount, espLBA)
		}
		if !allZero(cat[end:]) {
			t.Errorf("bytes after the last entry are not zero")
		}
	})
}

// FuzzBootInfoTable patches arbitrary loaders and reads the table back
// with offsets from the isolinux documentation (bi_pvd at 8, bi_file at
// 12, bi_length at 16, bi_csum at 20, 40 reserved bytes).
func FuzzBootInfoTable(f *testing.F) {
	f.Add(make([]byte, 64), uint32(30))
	f.Add(bytes.Repeat([]byte{0xFF}, 1003), uint32(0xFFFFFFFF))
	f.Add(make([]byte, 63), uint32(1))
	f.Fuzz(func(t *testing.T, loader []byte, lba uint32) {
		orig := append([]byte(nil), loader...)
		got, err := patchBootInfoTable(loader, lba)
		if len(loader) < 64 {
			if !errors.Is(err, ErrLoaderTooShort) {
				t.Fatalf("%d-byte loader: %v, want ErrLoaderTooShort", len(loader), err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(loader, orig) {
			t.Fatal("the source loader was modified")
		}
		if len(got) != len(loader) || !bytes.Equal(got[:8], loader[:8]) || !bytes.Equal(got[64:], loader[64:]) {
			t.Fatal("bytes outside the table changed")
		}
		var sum uint32
		for i := 64; i < len(loader); i += 4 {
			var w [4]byte
			copy(w[:], loader[i:])
			sum += binary.LittleEndian.Uint32(w[:])
		}
		le := binary.LittleEndian
		if le.Uint32(got[8:]) != 16 || le.Uint32(got[12:]) != lba || le.Uint32(got[16:]) != uint32(len(loader)) || le.Uint32(got[20:]) != sum || !allZero(got[24:64]) {
			t.Errorf("table % x, want PVD 16, file %d, length %d, checksum %#x", got[8:64], lba, len(loader), sum)
		}
	})
}
