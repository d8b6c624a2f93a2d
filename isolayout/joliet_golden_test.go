package isolayout

import (
	"encoding/binary"
	"io/fs"
	"testing"
)

// The expected bytes are written from ECMA-119 8.5 (Supplementary Volume
// Descriptor), 9.1 and 9.4, and the Joliet specification (UCS-2
// big-endian identifiers, escape sequences), not from any tool's output.

// ucs2 writes s (ASCII) as UCS-2 big-endian.
func ucs2(s string) []byte {
	var b []byte
	for i := 0; i < len(s); i++ {
		b = append(b, 0, s[i])
	}
	return b
}

// ucs2Padded is s in an n-byte field of UCS-2 spaces (00 20); an odd
// field's last byte is zero.
func ucs2Padded(s string, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+1 < n; i += 2 {
		b[i], b[i+1] = 0, ' '
	}
	copy(b, ucs2(s))
	return b
}

func TestJolietSupplementaryVolumeDescriptorGolden(t *testing.T) {
	svd := primaryVolumeDescriptor{
		SystemID: "LINUX", VolumeID: "LIVEISO", VolumeSpaceSize: 0x12345,
		PathTableSize: 10, LPathTableLBA: 21, MPathTableLBA: 22,
		Root:          dirRecord{ExtentLBA: 30, DataLength: 2048, Recorded: testDate, Flags: fileFlagDirectory, Identifier: []byte{0}},
		ApplicationID: "APP", Created: testDate, Modified: testDate, Effective: testDate,
	}
	w := make(sectorBuilder, SectorSize)
	w.at(1, 2)                                // 8.5.1 Volume Descriptor Type: supplementary
	w.str(2, "CD001")                         // 8.5.2
	w.at(7, 1)                                // 8.5.3 Volume Descriptor Version
	w.at(8, 0)                                // 8.5.4 Volume Flags: registered escape sequences only
	w.at(9, ucs2Padded("LINUX", 32)...)       // 8.5.5 System Identifier, UCS-2
	w.at(41, ucs2Padded("LIVEISO", 32)...)    // 8.5.6 Volume Identifier: 16 UCS-2 characters
	w.at(81, both32(0x12345)...)              // Volume Space Size
	w.at(89, '%', '/', 'E')                   // 8.5.6 Escape Sequences: Joliet UCS-2 level 3
	w.at(121, both16(1)...)                   // Volume Set Size
	w.at(125, both16(1)...)                   // Volume Sequence Number
	w.at(129, both16(2048)...)                // Logical Block Size
	w.at(133, both32(10)...)                  // Path Table Size
	w.at(141, 21, 0, 0, 0)                    // Type L Path Table
	w.at(149, 0, 0, 0, 22)                    // Type M Path Table
	w.at(157, 34, 0)                          // Root directory record
	w.at(159, both32(30)...)                  //
	w.at(167, both32(2048)...)                //
	w.at(175, 124, 5, 6, 7, 8, 9, 0)          //
	w.at(182, 2, 0, 0)                        //
	w.at(185, both16(1)...)                   //
	w.at(189, 1, 0)                           //
	w.at(191, ucs2Padded("", 128)...)         // Volume Set Identifier
	w.at(319, ucs2Padded("", 128)...)         // Publisher Identifier
	w.at(447, ucs2Padded("", 128)...)         // Data Preparer Identifier
	w.at(575, ucs2Padded("APP", 128)...)      // Application Identifier
	for _, bp := range []int{703, 740, 777} { // Copyright, Abstract, Bibliographic File Identifiers
		w.at(bp, ucs2Padded("", 37)...) // 37 bytes: 18 UCS-2 spaces and a zero
	}
	w.str(814, "2024050607080900")
	w.str(831, "2024050607080900")
	w.str(848, "0000000000000000")
	w.str(865, "2024050607080900")
	w.at(882, 1) // File Structure Version
	diffBytes(t, "Joliet SVD", svd.encodeSupplementary(), w)
}

func TestJolietDirectoryGolden(t *testing.T) {
	// A directory with a file "Read Me.txt" (11 characters: 22 bytes of
	// identifier, so a padding byte follows) and a subdirectory "sub".
	file := &pnode{name: "Read Me.txt", mode: 0o644, mtime: testDate, size: 6, lba: 40}
	sub := &pnode{name: "sub", mode: fs.ModeDir | 0o755, mtime: testDate}
	root := &pnode{mode: fs.ModeDir | 0o755, mtime: testDate, children: []*pnode{sub, file}}
	file.parent, sub.parent = root, root
	tr, err := order(root)
	if err != nil {
		t.Fatal(err)
	}
	jt, err := planJoliet(tr, &Joliet{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jt.dirs) != 2 || len(jt.warnings) != 0 {
		t.Fatalf("%d Joliet directories, warnings %q", len(jt.dirs), jt.warnings)
	}
	jt.dirs[0].lba, jt.dirs[1].lba = 30, 31
	got := jt.dirs[0].encodeDirectory()

	rec := func(lba, size uint32, flags byte, ident []byte) []byte {
		n := 33 + len(ident) + (1 - len(ident)%2)
		b := []byte{byte(n), 0}
		b = append(b, both32(lba)...)
		b = append(b, both32(size)...)
		b = append(b, 124, 5, 6, 7, 8, 9, 0, flags, 0, 0)
		b = append(b, both16(1)...)
		b = append(b, byte(len(ident)))
		b = append(b, ident...)
		if len(ident)%2 == 0 {
			b = append(b, 0)
		}
		return b
	}
	var want []byte
	want = append(want, rec(30, 2048, fileFlagDirectory, []byte{0})...)
	want = append(want, rec(30, 2048, fileFlagDirectory, []byte{1})...)
	// "Read Me.txt" < "sub": 0x0052 < 0x0073. No ";1", no System Use.
	want = append(want, rec(40, 6, 0, ucs2("Read Me.txt"))...)
	want = append(want, rec(31, 2048, fileFlagDirectory, ucs2("sub"))...)
	if len(want) != 34+34+56+40 {
		t.Fatalf("expected records of %d bytes", len(want))
	}
	want = append(want, make([]byte, SectorSize-len(want))...)
	diffBytes(t, "Joliet root directory", got, want)

	// ECMA-119 9.4: the root (identifier 00, its own parent), then "sub"
	// with its UCS-2 identifier, 6 bytes: no padding.
	jt.pathTable[0].ExtentLBA, jt.pathTable[1].ExtentLBA = 30, 31
	l, m := encodePathTables(jt.pathTable, jt.ptBytes)
	wantL := []byte{1, 0, 30, 0, 0, 0, 1, 0, 0, 0,
		6, 0, 31, 0, 0, 0, 1, 0, 0, 's', 0, 'u', 0, 'b'}
	wantM := []byte{1, 0, 0, 0, 0, 30, 0, 1, 0, 0,
		6, 0, 0, 0, 0, 31, 0, 1, 0, 's', 0, 'u', 0, 'b'}
	diffBytes(t, "Joliet type L path table", l, wantL)
	diffBytes(t, "Joliet type M path table", m, wantM)
	if jt.ptBytes != int64(len(wantL)) || binary.LittleEndian.Uint16(l[6:]) != 1 {
		t.Errorf("path table size %d", jt.ptBytes)
	}
}
