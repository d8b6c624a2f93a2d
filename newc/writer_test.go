package newc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenEntries are the entries of testdata/*.cpio, hand-written from the
// format description (see testdata/README).
var goldenEntries = []struct {
	file string
	hdr  Header
	data string
}{
	{"regular.cpio", Header{Name: "bin/sh", Ino: 0x1234, Mode: TypeReg | 0o755, Nlink: 1, Mtime: 1700000000,
		Size: 5, DevMajor: 8, DevMinor: 1}, "hello"},
	{"dir.cpio", Header{Name: "etc", Ino: 2, Mode: TypeDir | 0o755, UID: 1000, GID: 100, Nlink: 2, Mtime: 1700000000,
		DevMajor: 8, DevMinor: 1}, ""},
	{"symlink.cpio", Header{Name: "lib", Ino: 3, Mode: TypeSymlink | 0o777, Nlink: 1, Mtime: 1700000000,
		Size: 7, DevMajor: 8, DevMinor: 1}, "usr/lib"},
	{"chardev.cpio", Header{Name: "dev/console", Ino: 4, Mode: TypeChar | 0o600, GID: 5, Nlink: 1,
		RdevMajor: 5, RdevMinor: 1}, ""},
}

func TestGolden(t *testing.T) {
	var all bytes.Buffer
	w := NewWriter(&all)
	for _, g := range goldenEntries {
		want, err := os.ReadFile(filepath.Join("testdata", g.file))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		ew := NewWriter(&b)
		if err := ew.WriteHeader(&g.hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := ew.Write([]byte(g.data)); err != nil {
			t.Fatal(err)
		}
		if err := ew.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s:\n got %q\nwant %q", g.file, b.Bytes(), want)
		}
		enc, err := g.hdr.Encode(nil)
		if err != nil || len(enc) != g.hdr.EncodedLen() || !bytes.Equal(enc, want[:len(enc)]) {
			t.Errorf("%s: Encode = %q, %v (EncodedLen %d)", g.file, enc, err, g.hdr.EncodedLen())
		}
		if pad := len(want) - len(enc) - len(g.data); pad != g.hdr.DataPadding() {
			t.Errorf("%s: DataPadding %d, want %d", g.file, g.hdr.DataPadding(), pad)
		}
		w.WriteHeader(&g.hdr)
		w.Write([]byte(g.data))
	}
	if err := w.WriteTrailer(); err != nil {
		t.Fatal(err)
	}
	trailer, err := os.ReadFile("testdata/trailer.cpio")
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendTrailer(nil); !bytes.Equal(got, trailer) {
		t.Errorf("trailer:\n got %q\nwant %q", got, trailer)
	}
	if !bytes.HasSuffix(all.Bytes(), trailer) || all.Len()%Alignment != 0 || w.Written() != int64(all.Len()) {
		t.Errorf("archive of the golden entries: %d bytes, written %d", all.Len(), w.Written())
	}
}

func TestPadding(t *testing.T) {
	for nameLen := 1; nameLen <= 9; nameLen++ {
		for size := int64(0); size <= 9; size++ {
			h := Header{Name: strings.Repeat("n", nameLen), Mode: TypeReg | 0o644, Size: size}
			var b bytes.Buffer
			w := NewWriter(&b)
			if err := w.WriteHeader(&h); err != nil {
				t.Fatal(err)
			}
			if b.Len() != h.EncodedLen() || b.Len()%4 != 0 || b.Len() < HeaderSize+nameLen+1 || b.Len() > HeaderSize+nameLen+4 {
				t.Fatalf("name %d: header+name %d bytes", nameLen, b.Len())
			}
			w.Write(bytes.Repeat([]byte{'x'}, int(size)))
			if want := h.EncodedLen() + int(size) + h.DataPadding(); b.Len() != want || b.Len()%4 != 0 || h.DataPadding() > 3 {
				t.Fatalf("name %d size %d: entry %d bytes, want %d", nameLen, size, b.Len(), want)
			}
			if strings.Trim(string(b.Bytes()[HeaderSize+nameLen:h.EncodedLen()]), "\x00") != "" ||
				strings.Trim(string(b.Bytes()[h.EncodedLen()+int(size):]), "\x00") != "" {
				t.Fatalf("padding not zero: %q", b.Bytes())
			}
		}
	}
}

func TestHeaderErrors(t *testing.T) {
	maxName := strings.Repeat("a", MaxNameBytes-1) // with its NUL: exactly PATH_MAX
	for _, c := range []struct {
		hdr Header
		err error
	}{
		{Header{Name: "ok", Size: MaxSize}, nil},
		{Header{Name: maxName}, nil},
		{Header{Name: "big", Size: MaxSize + 1}, ErrTooLarge},
		{Header{Name: "huge", Size: 1 << 40}, ErrTooLarge},
		{Header{Name: maxName + "b"}, ErrNameTooLong},
		{Header{Name: ""}, ErrInvalidName},
		{Header{Name: "a\x00b"}, ErrInvalidName},
		{Header{Name: "neg", Size: -1}, ErrFieldRange},
		{Header{Name: "old", Mtime: -1}, ErrFieldRange},
		{Header{Name: "future", Mtime: 1 << 32}, ErrFieldRange},
		{Header{Name: "y2106", Mtime: 1<<32 - 1}, nil},
	} {
		dst := []byte("keep")
		got, err := c.hdr.Encode(dst)
		if !errors.Is(err, c.err) {
			t.Errorf("%.20q: err %v, want %v", c.hdr.Name, err, c.err)
		}
		if err != nil {
			if string(got) != "keep" {
				t.Errorf("%.20q: dst changed on error", c.hdr.Name)
			}
			if c.hdr.Name != "" && !strings.ContainsRune(c.hdr.Name, 0) && !strings.Contains(err.Error(), c.hdr.Name[:min(len(c.hdr.Name), 10)]) {
				t.Errorf("error %q does not name the entry", err)
			}
			if werr := NewWriter(&bytes.Buffer{}).WriteHeader(&c.hdr); !errors.Is(werr, c.err) {
				t.Errorf("%.20q: WriteHeader err %v, want %v", c.hdr.Name, werr, c.err)
			}
		}
	}
}

func TestWriterSizeErrors(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	h := Header{Name: "etc/motd", Mode: TypeReg | 0o644, Size: 4}
	if err := w.WriteHeader(&h); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write([]byte("hello")); !errors.Is(err, ErrWriteTooLong) || n != 0 || !strings.Contains(err.Error(), "etc/motd") {
		t.Errorf("write too long: %d, %v", n, err)
	}
	w.Write([]byte("hel"))
	for name, f := range map[string]func() error{
		"WriteHeader":  func() error { return w.WriteHeader(&Header{Name: "next"}) },
		"Flush":        w.Flush,
		"WriteTrailer": w.WriteTrailer,
	} {
		if err := f(); !errors.Is(err, ErrWriteTooShort) || !strings.Contains(err.Error(), "etc/motd") {
			t.Errorf("%s after a short entry: %v", name, err)
		}
	}
	w.Write([]byte("l"))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if b.Len() != h.EncodedLen()+4 {
		t.Errorf("%d bytes", b.Len())
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		n := f.n
		f.n = 0
		return n, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterStickyError(t *testing.T) {
	w := NewWriter(&failWriter{n: 200})
	if err := w.WriteHeader(&Header{Name: "a", Size: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 100)); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v", err)
	}
	if err := w.WriteHeader(&Header{Name: "b"}); err == nil {
		t.Error("writer accepted a header after a failed write")
	}
}
