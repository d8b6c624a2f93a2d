package isolayout

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

// The expected bytes below are written from the specifications' field
// tables (byte positions "BP" are 1-based, as ECMA-119 numbers them), not
// from any tool's output.

type sectorBuilder []byte

// at writes b at ECMA-119 byte position bp (1-based).
func (s sectorBuilder) at(bp int, b ...byte) { copy(s[bp-1:], b) }

func (s sectorBuilder) str(bp int, v string) { copy(s[bp-1:], v) }

func (s sectorBuilder) padded(bp, n int, v string) {
	s.str(bp, v+strings.Repeat(" ", n-len(v)))
}

func both32(v uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, v)
	return binary.BigEndian.AppendUint32(b, v)
}

func both16(v uint16) []byte {
	b := binary.LittleEndian.AppendUint16(nil, v)
	return binary.BigEndian.AppendUint16(b, v)
}

func diffBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: first difference at byte %d (BP %d): got %#02x, want %#02x\ngot:\n%s\nwant:\n%s",
				what, i, i+1, got[i], want[i], hex.Dump(got[max(0, i-16):min(len(got), i+32)]), hex.Dump(want[max(0, i-16):min(len(want), i+32)]))
		}
	}
	t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
}

func TestPrimaryVolumeDescriptorGolden(t *testing.T) {
	pvd := primaryVolumeDescriptor{
		SystemID: "LINUX", VolumeID: "LIVEISO", VolumeSpaceSize: 0x12345,
		PathTableSize: 10, LPathTableLBA: 19, MPathTableLBA: 20,
		Root:          dirRecord{ExtentLBA: 21, DataLength: 2048, Recorded: testDate, Flags: fileFlagDirectory, Identifier: []byte{0}},
		ApplicationID: "APP", Created: testDate, Modified: testDate, Effective: testDate,
	}
	w := make(sectorBuilder, SectorSize)
	w.at(1, 1)               // 8.4.1 Volume Descriptor Type
	w.str(2, "CD001")        // 8.4.2 Standard Identifier
	w.at(7, 1)               // 8.4.3 Volume Descriptor Version
	w.padded(9, 32, "LINUX") // 8.4.5 System Identifier
	w.padded(41, 32, "LIVEISO")
	w.at(81, both32(0x12345)...) // 8.4.8 Volume Space Size
	w.at(121, both16(1)...)      // 8.4.10 Volume Set Size
	w.at(125, both16(1)...)      // 8.4.11 Volume Sequence Number
	w.at(129, both16(2048)...)   // 8.4.12 Logical Block Size
	w.at(133, both32(10)...)     // 8.4.13 Path Table Size
	w.at(141, 19, 0, 0, 0)       // 8.4.14 Location of Occurrence of Type L Path Table
	w.at(149, 0, 0, 0, 20)       // 8.4.16 Location of Occurrence of Type M Path Table
	// 8.4.18 Directory Record for Root Directory (9.1)
	w.at(157, 34, 0)
	w.at(159, both32(21)...)
	w.at(167, both32(2048)...)
	w.at(175, 124, 5, 6, 7, 8, 9, 0) // 9.1.5: 2024-05-06 07:08:09 GMT
	w.at(182, 2, 0, 0)
	w.at(185, both16(1)...)
	w.at(189, 1, 0)
	w.padded(191, 128, "")         // 8.4.19 Volume Set Identifier
	w.padded(319, 128, "")         // 8.4.20 Publisher Identifier
	w.padded(447, 128, "")         // 8.4.21 Data Preparer Identifier
	w.padded(575, 128, "APP")      // 8.4.22 Application Identifier
	w.padded(703, 37*3, "")        // 8.4.23-25 Copyright, Abstract, Bibliographic File Identifiers
	w.str(814, "2024050607080900") // 8.4.26 Volume Creation Date and Time (8.4.26.1)
	w.str(831, "2024050607080900") // 8.4.27 Modification
	w.str(848, "0000000000000000") // 8.4.28 Expiration: not specified
	w.str(865, "2024050607080900") // 8.4.29 Effective
	w.at(882, 1)                   // 8.4.31 File Structure Version
	diffBytes(t, "PVD", pvd.encode(), w)
}

func TestBootRecordAndTerminatorGolden(t *testing.T) {
	w := make(sectorBuilder, SectorSize)
	w.at(1, 0) // ECMA-119 8.2.1: Boot Record
	w.str(2, "CD001")
	w.at(7, 1)
	w.str(8, "EL TORITO SPECIFICATION") // El Torito 2.0 offset 7, padded with zeros
	w.at(0x47+1, 0x1D, 0, 0, 0)         // El Torito 2.0 offset 0x47: catalog sector, little-endian
	br := bootRecordDescriptor{CatalogLBA: 29}
	diffBytes(t, "boot record", br.encode(), w)

	term := make(sectorBuilder, SectorSize)
	term.at(1, 255) // ECMA-119 8.3.1
	term.str(2, "CD001")
	term.at(7, 1)
	diffBytes(t, "terminator", terminatorDescriptor{}.encode(), term)
}

func TestBootCatalogGolden(t *testing.T) {
	cat := bootCatalog{
		Validation: validationEntry{PlatformID: platformX86},
		Default:    bootEntry{BootIndicator: bootIndicatorBootable, MediaType: mediaNoEmulation, SectorCount: 4, LoadRBA: 0x1E},
	}
	got := cat.encode()
	want := make([]byte, SectorSize)
	copy(want, []byte{
		// El Torito 2.1 Validation Entry
		0x01, 0x00, 0x00, 0x00, // header id, platform 80x86, reserved
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // id string
		0xAA, 0x55, // checksum: 0x0001 + 0xAA55 + 0x55AA = 0x10000
		0x55, 0xAA, // key bytes
		// El Torito 2.2 Initial/Default Entry
		0x88,       // bootable
		0x00,       // no emulation
		0x00, 0x00, // load segment 0: 0x7C0
		0x00,       // system type
		0x00,       // unused
		0x04, 0x00, // sector count
		0x1E, 0x00, 0x00, 0x00, // load RBA
	})
	diffBytes(t, "boot catalog", got, want)
	var sum uint16
	for i := 0; i < 32; i += 2 {
		sum += binary.LittleEndian.Uint16(got[i:])
	}
	if sum != 0 {
		t.Errorf("validation entry words sum to %#x, want 0", sum)
	}
	// A non-empty ID string must still sum to zero.
	v := validationEntry{PlatformID: platformEFI, IDString: "LIVEISO"}
	b := v.appendTo(nil)
	sum = 0
	for i := 0; i < 32; i += 2 {
		sum += binary.LittleEndian.Uint16(b[i:])
	}
	if sum != 0 {
		t.Errorf("validation entry with id: words sum to %#x", sum)
	}
}

func TestDirRecordRockRidgeGolden(t *testing.T) {
	es := &suspEntries{}
	es.add(&pxEntry{Mode: posixMode(0o777 | 1<<27 /* fs.ModeSymlink */), Links: 1, UID: 1000, GID: 100, Serial: 7})
	es.add(&tfEntry{Modify: testDate, Access: testDate, Attributes: testDate})
	nmEntries{Name: "link"}.appendTo(es)
	slEntries{Target: "../a/b"}.appendTo(es)
	r := dirRecord{Recorded: testDate, Identifier: []byte("LINK.;1"), SystemUse: es.buf}
	got := r.appendTo(nil)
	want := []byte{
		132, 0, // 9.1.1, 9.1.2
		0, 0, 0, 0, 0, 0, 0, 0, // 9.1.3 extent location
		0, 0, 0, 0, 0, 0, 0, 0, // 9.1.4 data length
		124, 5, 6, 7, 8, 9, 0, // 9.1.5
		0, 0, 0, // 9.1.6-9.1.8 flags, unit size, gap
		1, 0, 0, 1, // 9.1.9 volume sequence number
		7, 'L', 'I', 'N', 'K', '.', ';', '1', // 9.1.10-11, odd length: no padding
		// RRIP 4.1.1 PX: mode 0120777, links 1, uid 1000, gid 100, serial 7
		'P', 'X', 44, 1,
		0xFF, 0xA1, 0, 0, 0, 0, 0xA1, 0xFF,
		1, 0, 0, 0, 0, 0, 0, 1,
		0xE8, 0x03, 0, 0, 0, 0, 0x03, 0xE8,
		100, 0, 0, 0, 0, 0, 0, 100,
		7, 0, 0, 0, 0, 0, 0, 7,
		// RRIP 4.1.6 TF: modify, access, attributes
		'T', 'F', 26, 1, 0x0E,
		124, 5, 6, 7, 8, 9, 0,
		124, 5, 6, 7, 8, 9, 0,
		124, 5, 6, 7, 8, 9, 0,
		// RRIP 4.1.4 NM
		'N', 'M', 9, 1, 0, 'l', 'i', 'n', 'k',
		// RRIP 4.1.3 SL: PARENT, "a", "b"
		'S', 'L', 13, 1, 0, 0x04, 0, 0, 1, 'a', 0, 1, 'b',
	}
	diffBytes(t, "directory record", got, want)
}

func TestSLSplitsLongComponents(t *testing.T) {
	es := &suspEntries{}
	slEntries{Target: "/" + strings.Repeat("x", 300)}.appendTo(es)
	if len(es.ends) != 2 {
		t.Fatalf("%d SL entries, want 2", len(es.ends))
	}
	first, second := es.buf[:es.ends[0]], es.buf[es.ends[0]:]
	// First entry: 255 bytes, CONTINUE; ROOT component, then 246 x's continued.
	want1 := append([]byte{'S', 'L', 255, 1, slFlagContinue, componentRoot, 0, componentContinue, 246}, strings.Repeat("x", 246)...)
	want2 := append([]byte{'S', 'L', 5 + 2 + 54, 1, 0, 0, 54}, strings.Repeat("x", 54)...)
	diffBytes(t, "SL 1", first, want1)
	diffBytes(t, "SL 2", second, want2)
}

func TestBootInfoTablePatch(t *testing.T) {
	src := pattern(1000+3, 7) // not a multiple of 4: the last word is zero padded
	orig := append([]byte(nil), src...)
	got, err := patchBootInfoTable(src, 0x1F)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, orig) {
		t.Fatal("the source loader was modified")
	}
	var sum uint32
	for i := 64; i < len(src); i += 4 {
		var w [4]byte
		copy(w[:], src[i:])
		sum += uint32(w[0]) | uint32(w[1])<<8 | uint32(w[2])<<16 | uint32(w[3])<<24
	}
	want := append([]byte(nil), src...)
	copy(want[8:], []byte{16, 0, 0, 0, 0x1F, 0, 0, 0})         // bi_pvd, bi_file
	binary.LittleEndian.PutUint32(want[16:], uint32(len(src))) // bi_length
	binary.LittleEndian.PutUint32(want[20:], sum)              // bi_csum
	clear(want[24:64])                                         // reserved
	diffBytes(t, "patched loader", got, want)
	if _, err := patchBootInfoTable(src[:63], 1); err == nil {
		t.Error("a 63-byte loader was patched")
	}
}
