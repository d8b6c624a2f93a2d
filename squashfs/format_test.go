package squashfs

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// unhex decodes a hex string with spaces and newlines for readability.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The golden bytes below are written from struct squashfs_super_block and
// the inode and directory structs of squashfs_fs.h, field by field,
// little-endian, not from this package's output.

func TestSuperblockGolden(t *testing.T) {
	sb := Superblock{
		Inodes: 3, MkfsTime: 0x6b17057c, BlockSize: 128 << 10, Fragments: 0,
		Compressor: CompressorZlib, Flags: FlagNoFragments | FlagNoXattrs, IDs: 1,
		RootInode: MakeInodeRef(0, 0x44), BytesUsed: 0xde,
		IDTableStart: 0xd6, XattrIDTableStart: InvalidTable,
		InodeTableStart: 0x62, DirectoryTableStart: 0x9e,
		FragmentTableStart: 0xb8, LookupTableStart: InvalidTable,
	}
	want := unhex(t, `
		68737173 03000000 7c05176b 00000200
		00000000 0100 1100 1002 0100 0400 0000
		4400000000000000 de00000000000000
		d600000000000000 ffffffffffffffff
		6200000000000000 9e00000000000000
		b800000000000000 ffffffffffffffff`)
	got := sb.Append(nil)
	if len(got) != SuperblockSize || !bytes.Equal(got, want) {
		t.Fatalf("superblock:\n got %x\nwant %x", got, want)
	}
}

func TestInodeGolden(t *testing.T) {
	h := InodeHeader{Mode: 0o100755, UID: 1, GID: 2, Mtime: 0x01020304, Number: 7}
	hdr := func(typ string) string { return typ + " ed01 0100 0200 04030201 07000000" } // mode keeps 07755&0o7777 = 0x1ed
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"dir", (&DirInode{InodeHeader: h, StartBlock: 0x10, Offset: 0x20, Nlink: 3, FileSize: 0x33, ParentInode: 9}).Append(nil),
			hdr("0100") + "10000000 03000000 3300 2000 09000000"},
		{"ldir", (&DirInode{InodeHeader: h, Extended: true, StartBlock: 0x10, Offset: 0x20, Nlink: 3, FileSize: 0x12345, ParentInode: 9}).Append(nil),
			hdr("0800") + "03000000 45230100 10000000 09000000 0000 2000 ffffffff"},
		{"reg", (&RegInode{InodeHeader: h, StartBlock: 0x60, FileSize: 0x20001, Fragment: InvalidFragment, BlockSizes: []uint32{0x100, 0x1000002}}).Append(nil),
			hdr("0200") + "60000000 ffffffff 00000000 01000200 00010000 02000001"},
		{"lreg", (&RegInode{InodeHeader: h, Extended: true, StartBlock: 0x100000000, FileSize: 5, Sparse: 0, Nlink: 2, Fragment: InvalidFragment, BlockSizes: []uint32{0}}).Append(nil),
			hdr("0900") + "0000000001000000 0500000000000000 0000000000000000 02000000 ffffffff 00000000 ffffffff 00000000"},
		{"symlink", (&SymlinkInode{InodeHeader: h, Nlink: 1, Target: "ab"}).Append(nil),
			hdr("0300") + "01000000 02000000 6162"},
		{"chrdev", (&DevInode{InodeHeader: InodeHeader{Type: TypeChrDev, Mode: 0o600, Number: 1}, Nlink: 1, Rdev: EncodeDev(5, 1)}).Append(nil),
			"0500 8001 0000 0000 00000000 01000000 01000000 01050000"},
		{"fifo", (&IPCInode{InodeHeader: InodeHeader{Type: TypeFIFO, Mode: 0o644, Number: 2}, Nlink: 1}).Append(nil),
			"0600 a401 0000 0000 00000000 02000000 01000000"},
	}
	for _, c := range cases {
		if want := unhex(t, c.want); !bytes.Equal(c.got, want) {
			t.Errorf("%s:\n got %x\nwant %x", c.name, c.got, want)
		}
	}
}

func TestDirectoryGolden(t *testing.T) {
	h := DirHeader{Count: 2, StartBlock: 0x2000, InodeNumber: 10}
	e := DirEntry{Offset: 0x30, InodeDiff: -1, Type: TypeReg, Name: "abc"}
	got := e.Append(h.Append(nil))
	want := unhex(t, "01000000 00200000 0a000000   3000 ffff 0200 0200 616263")
	if !bytes.Equal(got, want) {
		t.Fatalf("directory:\n got %x\nwant %x", got, want)
	}
}

// TestEncodeDev checks the kernel's new_encode_dev layout, which
// new_decode_dev and unix.Mkdev's huge-dev layout agree on for 32 bits.
func TestEncodeDev(t *testing.T) {
	for _, d := range [][2]uint32{{0, 0}, {5, 1}, {8, 1}, {259, 0}, {300, 70000}, {4095, 0xfffff}} {
		got := EncodeDev(d[0], d[1])
		major := (got & 0xfff00) >> 8
		minor := got&0xff | (got>>12)&0xfff00
		if major != d[0] || minor != d[1] {
			t.Errorf("EncodeDev(%d, %d) = %#x decodes to (%d, %d)", d[0], d[1], got, major, minor)
		}
		if d[0] < 256 && d[1] < 256 && got != uint32(unix.Mkdev(d[0], d[1])) {
			t.Errorf("EncodeDev(%d, %d) = %#x, old-style dev %#x", d[0], d[1], got, unix.Mkdev(d[0], d[1]))
		}
	}
}

func TestCheckBlockSize(t *testing.T) {
	for size, ok := range map[uint32]bool{4096: true, 128 << 10: true, 1 << 20: true, 2048: false, 2 << 20: false, 100000: false, 0: false} {
		if err := CheckBlockSize(size); (err == nil) != ok {
			t.Errorf("CheckBlockSize(%d) = %v", size, err)
		}
	}
}

// decodeMetadata splits a table into its blocks and returns the
// uncompressed bytes, checking the format's rules on the way: a header's
// size is the stored size, the uncompressed bit says whether it is
// stored, every block but the last holds MetadataSize bytes.
func decodeMetadata(t testing.TB, table []byte, comp Compression) (data []byte, starts []uint32) {
	t.Helper()
	for off := 0; off < len(table); {
		if off+2 > len(table) {
			t.Fatalf("metadata block header cut at %d", off)
		}
		h := binary.LittleEndian.Uint16(table[off:])
		n := int(h &^ MetadataUncompressed)
		if n == 0 || off+2+n > len(table) {
			t.Fatalf("metadata block at %d: size %d beyond the table's %d bytes", off, n, len(table))
		}
		stored := table[off+2 : off+2+n]
		block := stored
		if h&MetadataUncompressed == 0 {
			block = decompress(t, comp, stored)
		}
		if len(block) > MetadataSize {
			t.Fatalf("metadata block at %d holds %d bytes", off, len(block))
		}
		if len(starts) > 0 && len(data)%MetadataSize != 0 {
			t.Fatalf("metadata block before %d is short: %d bytes in all", off, len(data))
		}
		starts = append(starts, uint32(off))
		data = append(data, block...)
		off += 2 + n
	}
	return data, starts
}
