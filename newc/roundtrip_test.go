package newc

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/cavaliergopher/cpio"
)

type record struct {
	hdr  Header
	data []byte
}

// readArchive decodes an archive with github.com/cavaliergopher/cpio's
// Reader, an independent implementation. That reader does not decode the
// device fields, so they are read from the raw header bytes; it stops at the
// trailer.
func readArchive(t testing.TB, archive []byte) []record {
	t.Helper()
	var out []record
	r := cpio.NewReader(bytes.NewReader(archive))
	off := 0
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("cpio reader at entry %d: %v", len(out), err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		raw := archive[off:]
		field := func(at int) uint32 {
			v, err := strconv.ParseUint(string(raw[at:at+fieldSize]), 16, 32)
			if err != nil {
				t.Fatalf("field at %d: %v", at, err)
			}
			return uint32(v)
		}
		rec := record{hdr: Header{
			Name: h.Name, Ino: uint32(h.Inode), Mode: uint32(h.Mode), UID: uint32(h.Uid), GID: uint32(h.Guid),
			Nlink: uint32(h.Links), Mtime: h.ModTime.Unix(), Size: h.Size,
			DevMajor: field(offDevMajor), DevMinor: field(offDevMinor),
			RdevMajor: field(offRdevMajor), RdevMinor: field(offRdevMinor),
		}, data: data}
		if h.Mode&^cpio.ModePerm == cpio.TypeSymlink { // the reader's own test for a symlink
			rec.data = []byte(h.Linkname) // the reader returns a symlink's data as Linkname
			rec.hdr.Size = int64(len(h.Linkname))
		}
		if field(offCheck) != 0 || string(raw[:len(Magic)]) != Magic {
			t.Fatalf("%s: magic %q check %d", h.Name, raw[:6], field(offCheck))
		}
		out = append(out, rec)
		off += rec.hdr.EncodedLen() + int(rec.hdr.Size) + rec.hdr.DataPadding()
	}
	return out
}

func writeArchive(t testing.TB, recs []record) []byte {
	t.Helper()
	var b bytes.Buffer
	w := NewWriter(&b)
	for i := range recs {
		if err := w.WriteHeader(&recs[i].hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(recs[i].data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteTrailer(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func equalRecords(t testing.TB, got, want []record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entries read back, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].hdr != want[i].hdr || !bytes.Equal(got[i].data, want[i].data) {
			t.Fatalf("entry %d:\n got %+v %q\nwant %+v %q", i, got[i].hdr, got[i].data, want[i].hdr, want[i].data)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	recs := []record{
		{Header{Name: ".", Ino: 1, Mode: TypeDir | 0o755, Nlink: 3, Mtime: 1}, nil},
		{Header{Name: "tmp", Ino: 2, Mode: TypeDir | ModeSticky | 0o777, Nlink: 2}, nil},
		{Header{Name: "bin/su", Ino: 3, Mode: TypeReg | ModeSetuid | ModeSetgid | 0o755, UID: 0, GID: 0, Nlink: 1, Mtime: 1700000000}, nil},
		{Header{Name: "dev/sda1", Ino: 4, Mode: TypeBlock | 0o660, GID: 6, Nlink: 1, RdevMajor: 8, RdevMinor: 1, DevMajor: 254, DevMinor: 3}, nil},
		{Header{Name: "dev/null", Ino: 5, Mode: TypeChar | 0o666, Nlink: 1, RdevMajor: 1, RdevMinor: 3}, nil},
		{Header{Name: "run/fifo", Ino: 6, Mode: TypeFifo | 0o600, Nlink: 1}, nil},
		{Header{Name: "lib", Ino: 7, Mode: TypeSymlink | 0o777, Nlink: 1}, []byte("usr/lib")},
		{Header{Name: "\xff\xfename", Ino: 8, Mode: TypeReg | 0o644, Nlink: 1, UID: 1 << 31, GID: 65534}, []byte("x")},
		{Header{Name: "a", Ino: 9, Mode: TypeReg | 0o644, Nlink: 2}, nil},
		{Header{Name: "b", Ino: 9, Mode: TypeReg | 0o644, Nlink: 2}, []byte("shared data")},
		{Header{Name: "max", Ino: 0xFFFFFFFF, Mode: TypeReg | 0o7777, Nlink: 0xFFFFFFFF, Mtime: MaxSize}, []byte("1234")},
	}
	for i := range recs {
		recs[i].hdr.Size = int64(len(recs[i].data))
	}
	equalRecords(t, readArchive(t, writeArchive(t, recs)), recs)
}

// FuzzRoundTrip encodes a random header and data and reads them back with
// an independent reader.
func FuzzRoundTrip(f *testing.F) {
	f.Add("bin/sh", uint32(1), uint32(0o100755), uint32(0), uint32(0), uint32(1), int64(1700000000), uint32(8), uint32(1), uint32(0), uint32(0), []byte("hello"))
	f.Add("dev/console", uint32(2), uint32(0o20600), uint32(0), uint32(5), uint32(1), int64(0), uint32(0), uint32(0), uint32(5), uint32(1), []byte(nil))
	f.Add("lib", uint32(3), uint32(0o120777), uint32(0), uint32(0), uint32(1), int64(0), uint32(0), uint32(0), uint32(0), uint32(0), []byte("usr/lib"))
	f.Fuzz(func(t *testing.T, name string, ino, mode, uid, gid, nlink uint32, mtime int64, dmaj, dmin, rmaj, rmin uint32, data []byte) {
		h := Header{Name: name, Ino: ino, Mode: mode, UID: uid, GID: gid, Nlink: nlink, Mtime: mtime, Size: int64(len(data)),
			DevMajor: dmaj, DevMinor: dmin, RdevMajor: rmaj, RdevMinor: rmin}
		if err := h.Validate(); err != nil {
			if _, eerr := h.Encode(nil); eerr == nil {
				t.Fatalf("Validate %v but Encode succeeded", err)
			}
			return
		}
		if h.Name == TrailerName {
			return // the reader stops there
		}
		// The reference reader insists that a symlink has 1..4096 bytes of target.
		if mode&TypeMask == TypeSymlink && (len(data) == 0 || len(data) > MaxNameBytes) {
			return
		}
		enc, err := h.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) != h.EncodedLen() || len(enc)%Alignment != 0 {
			t.Fatalf("encoded %d bytes, EncodedLen %d", len(enc), h.EncodedLen())
		}
		recs := []record{{h, data}}
		got := readArchive(t, writeArchive(t, recs))
		if len(got) == 1 && got[0].data == nil {
			got[0].data = data[:0:0]
		}
		if len(got) == 1 && len(data) == 0 {
			got[0].data = data
		}
		equalRecords(t, got, recs)
	})
}
