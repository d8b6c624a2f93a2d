package squashfs

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// checkMetadata writes records with a MetadataWriter and checks the table
// against the spec's rules (decodeMetadata) and every record's Pos: the
// record's bytes start at that offset of that block.
func checkMetadata(t *testing.T, comp Compression, sizes []int, seed byte) {
	c, err := NewCompressor(comp, 0, DefaultBlockSize)
	if err != nil {
		t.Fatal(err)
	}
	w := NewMetadataWriter(c)
	type rec struct {
		block uint32
		off   uint16
		data  []byte
	}
	var recs []rec
	x := seed
	for i, n := range sizes {
		b := make([]byte, n)
		for j := range b {
			if (i+j)%3 == 0 {
				x = x*167 + 13
			}
			b[j] = x
		}
		blk, off := w.Pos()
		recs = append(recs, rec{blk, off, b})
		w.Write(b)
	}
	table, starts := w.Finish()
	data, gotStarts := decodeMetadata(t, table, comp)
	if len(starts) != len(gotStarts) {
		t.Fatalf("Finish gives %d block starts, the table has %d blocks", len(starts), len(gotStarts))
	}
	for i := range starts {
		if starts[i] != gotStarts[i] {
			t.Fatalf("block %d starts at %d, Finish says %d", i, gotStarts[i], starts[i])
		}
	}
	var all []byte
	for _, r := range recs {
		all = append(all, r.data...)
	}
	if !bytes.Equal(data, all) {
		t.Fatalf("the table's %d bytes are not the %d bytes written", len(data), len(all))
	}
	for i, r := range recs {
		bi := -1
		for k, s := range gotStarts {
			if s == r.block {
				bi = k
			}
		}
		if bi < 0 && len(r.data) > 0 && !(int(r.block) == len(table) && r.off == 0) {
			t.Fatalf("record %d: Pos block %d is not a block start", i, r.block)
		}
		if bi < 0 {
			continue
		}
		if r.off >= MetadataSize {
			t.Fatalf("record %d: offset %d", i, r.off)
		}
		at := bi*MetadataSize + int(r.off)
		if !bytes.Equal(data[at:at+len(r.data)], r.data) {
			t.Fatalf("record %d is not at block %d offset %d", i, r.block, r.off)
		}
	}
}

func TestMetadataWriter(t *testing.T) {
	for _, comp := range []Compression{Gzip, Zstd, None} {
		checkMetadata(t, comp, nil, 1)
		checkMetadata(t, comp, []int{1}, 1)
		checkMetadata(t, comp, []int{MetadataSize}, 2)
		checkMetadata(t, comp, []int{MetadataSize - 1, 1, 1}, 3)
		checkMetadata(t, comp, []int{3 * MetadataSize, 40, 8000, 400, 0, 20000}, 4)
	}
}

// TestMetadataStoredWhenLarger: a block compression does not shrink is
// stored with the uncompressed bit.
func TestMetadataStoredWhenLarger(t *testing.T) {
	c, _ := NewCompressor(Gzip, 0, DefaultBlockSize)
	w := NewMetadataWriter(c)
	noise := make([]byte, 100)
	x := uint32(1)
	for i := range noise {
		x = x*1664525 + 1013904223
		noise[i] = byte(x >> 24)
	}
	w.Write(noise)
	table, _ := w.Finish()
	if h := binary.LittleEndian.Uint16(table); h != MetadataUncompressed|100 || !bytes.Equal(table[2:], noise) {
		t.Fatalf("header %#x, %d bytes: want a stored block", h, len(table))
	}
}

func FuzzMetadataWriter(f *testing.F) {
	f.Add([]byte{1, 2, 3}, byte(0), byte(7))
	f.Add([]byte{255, 255, 255, 255, 0, 31}, byte(1), byte(0))
	f.Add([]byte{32, 0, 32, 0}, byte(2), byte(9))
	f.Fuzz(func(t *testing.T, lens []byte, comp byte, seed byte) {
		var sizes []int
		for i := 0; i+1 < len(lens) && len(sizes) < 64; i += 2 {
			sizes = append(sizes, int(lens[i])<<6|int(lens[i+1])) // up to 16 KiB a record
		}
		checkMetadata(t, []Compression{Gzip, Zstd, None}[int(comp)%3], sizes, seed)
	})
}

// decodeListing parses a directory listing, checking the kernel's rules: at
// most DirCount entries per header, names sorted and of 1..NameLen bytes.
func decodeListing(t testing.TB, b []byte) []Child {
	t.Helper()
	le := binary.LittleEndian
	var out []Child
	for len(b) > 0 {
		if len(b) < DirHeaderSize {
			t.Fatalf("directory header cut: %d bytes", len(b))
		}
		count, block, base := le.Uint32(b)+1, le.Uint32(b[4:]), le.Uint32(b[8:])
		b = b[DirHeaderSize:]
		if count > DirCount {
			t.Fatalf("directory header of %d entries", count)
		}
		for range count {
			if len(b) < DirEntrySize {
				t.Fatalf("directory entry cut")
			}
			off, diff, typ, n := le.Uint16(b), int16(le.Uint16(b[2:])), le.Uint16(b[4:]), int(le.Uint16(b[6:]))+1
			if n > NameLen || len(b) < DirEntrySize+n {
				t.Fatalf("directory entry name of %d bytes", n)
			}
			name := string(b[DirEntrySize : DirEntrySize+n])
			b = b[DirEntrySize+n:]
			if len(out) > 0 && out[len(out)-1].Name >= name {
				t.Fatalf("names not sorted: %q after %q", name, out[len(out)-1].Name)
			}
			out = append(out, Child{Name: name, Type: typ, Number: uint32(int64(base) + int64(diff)), Ref: MakeInodeRef(block, off)})
		}
	}
	return out
}

func FuzzAppendListing(f *testing.F) {
	f.Add(uint16(300), uint32(1), uint16(97), uint16(5000))
	f.Add(uint16(3), uint32(math.MaxUint32-10), uint16(40000), uint16(1))
	f.Fuzz(func(t *testing.T, n uint16, first uint32, stride uint16, perBlock uint16) {
		n %= 2000
		var children []Child
		num, blk, off := first, uint32(0), 0
		for i := range int(n) {
			if perBlock > 0 && i > 0 && i%int(perBlock) == 0 {
				blk += 100
				off = 0
			}
			children = append(children, Child{Name: string(rune('a'+i/676)) + string(rune('a'+i/26%26)) + string(rune('a'+i%26)), Type: TypeReg, Number: num, Ref: MakeInodeRef(blk, uint16(off%MetadataSize))})
			num += uint32(stride) % 70000
			off += 40
		}
		b, err := AppendListing(nil, children)
		if err != nil {
			t.Fatal(err)
		}
		got := decodeListing(t, b)
		if len(got) != len(children) {
			t.Fatalf("%d entries back, %d written", len(got), len(children))
		}
		for i := range got {
			if got[i] != children[i] {
				t.Fatalf("entry %d: got %+v, want %+v", i, got[i], children[i])
			}
		}
	})
}
