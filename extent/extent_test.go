package extent

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

// shortSource holds fewer bytes than its extent claims.
type shortSource struct{ b []byte }

func (s shortSource) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(s.b).ReadAt(p, off)
}

// eofSource returns io.EOF with a read that reaches its end, as
// io.ReaderAt allows: not an error.
type eofSource struct{ b []byte }

func (s eofSource) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(s.b)) {
		return 0, io.EOF
	}
	n := copy(p, s.b[off:])
	if off+int64(n) == int64(len(s.b)) {
		return n, io.EOF
	}
	return n, nil
}

// failSource fails every read after giving half of what was asked.
type failSource struct{ err error }

func (s failSource) ReadAt(p []byte, off int64) (int, error) {
	n := len(p) / 2
	for i := range p[:n] {
		p[i] = 'x'
	}
	return n, s.err
}

var errDisk = errors.New("disk on fire")

// sample is 2 gap bytes, "abc" (bytes), 1 gap byte, "defg" (source),
// "hi" (source returning io.EOF at its end), 3 gap bytes: 15 bytes.
func sample(t *testing.T) *List {
	t.Helper()
	l, err := New(15, []Extent{
		{Offset: 2, SizeBytes: 3, Data: []byte("abc"), Name: "abc"},
		{Offset: 6, SizeBytes: 4, Source: strings.NewReader("defg"), Name: "defg"},
		{Offset: 10, SizeBytes: 0, Name: "empty"}, // dropped
		{Offset: 10, SizeBytes: 2, Source: eofSource{[]byte("hi")}, Name: "hi"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestReadAt(t *testing.T) {
	l := sample(t)
	const image = "\x00\x00abc\x00defghi\x00\x00\x00"
	tests := []struct {
		off   int64
		n     int // len(p)
		want  string
		isEOF bool
	}{
		{0, 15, image, false},   // ends exactly at the end: nil, as io.ReaderAt allows
		{0, 20, image, true},    // past the end
		{1, 3, "\x00ab", false}, // gap into bytes
		{4, 3, "c\x00d", false}, // bytes, gap, source
		{7, 3, "efg", false},    // inside a source
		{9, 2, "gh", false},     // across two sources
		{11, 1, "i", false},     // a source's io.EOF at its own end
		{11, 4, "i\x00\x00\x00", false},
		{12, 10, "\x00\x00\x00", true}, // trailing gap, then the end
		{14, 1, "\x00", false},
		{15, 1, "", true}, // at the end
		{15, 0, "", true}, // at the end, empty p: io.EOF like bytes.Reader
		{99, 4, "", true}, // beyond
		{3, 0, "", false}, // empty p inside
		{0, 0, "", false},
	}
	for _, tc := range tests {
		p := bytes.Repeat([]byte{0xFF}, tc.n) // so unwritten zeros would show
		n, err := l.ReadAt(p, tc.off)
		if got := string(p[:n]); got != tc.want || (err == io.EOF) != tc.isEOF || err != nil && err != io.EOF {
			t.Errorf("ReadAt(%d bytes, %d) = %q, %v; want %q, EOF %v", tc.n, tc.off, got, err, tc.want, tc.isEOF)
		}
	}
	if n, err := l.ReadAt(make([]byte, 1), -1); n != 0 || err == nil || err == io.EOF {
		t.Errorf("ReadAt at -1 = %d, %v; want an error", n, err)
	}
	if l.Size() != 15 || len(l.Extents()) != 3 || l.Extents()[2].Name != "hi" {
		t.Errorf("Size %d, Extents %+v", l.Size(), l.Extents())
	}
}

// A source that ends early or fails is an error naming the extent, with
// the bytes read up to the failure counted.
func TestReadAtSourceError(t *testing.T) {
	tests := []struct {
		src   io.ReaderAt
		off   int64
		wantN int
		want  error
	}{
		{shortSource{[]byte("ab")}, 0, 2 + 2, io.ErrUnexpectedEOF}, // 2 gap bytes, then "ab" of "abcd"
		{shortSource{[]byte("ab")}, 3, 1, io.ErrUnexpectedEOF},
		{shortSource{nil}, 2, 0, io.ErrUnexpectedEOF},
		{failSource{errDisk}, 0, 2 + 2, errDisk},
		{failSource{nil}, 0, 2 + 2, io.ErrUnexpectedEOF},
	}
	for i, tc := range tests {
		l, err := New(8, []Extent{{Offset: 2, SizeBytes: 4, Source: tc.src, Name: "/boot/initrd.img"}})
		if err != nil {
			t.Fatal(err)
		}
		n, err := l.ReadAt(make([]byte, 8), tc.off)
		if n != tc.wantN || !errors.Is(err, tc.want) || err == io.EOF || !strings.HasPrefix(err.Error(), "read /boot/initrd.img: ") {
			t.Errorf("%d: ReadAt = %d, %v; want %d, read /boot/initrd.img: %v", i, n, err, tc.wantN, tc.want)
		}
	}
}

func TestNewInvalid(t *testing.T) {
	src := strings.NewReader("xxxx")
	tests := []struct {
		name    string
		size    int64
		extents []Extent
	}{
		{"negative size", -1, nil},
		{"overlap", 10, []Extent{{Offset: 0, SizeBytes: 4, Source: src}, {Offset: 3, SizeBytes: 4, Source: src}}},
		{"out of order", 10, []Extent{{Offset: 5, SizeBytes: 4, Source: src}, {Offset: 0, SizeBytes: 4, Source: src}}},
		{"past the end", 10, []Extent{{Offset: 7, SizeBytes: 4, Source: src}}},
		{"negative offset", 10, []Extent{{Offset: -1, SizeBytes: 4, Source: src}}},
		{"negative extent size", 10, []Extent{{Offset: 0, SizeBytes: -4, Source: src}}},
		{"no bytes, no source", 10, []Extent{{Offset: 0, SizeBytes: 4}}},
		{"bytes and source", 10, []Extent{{Offset: 0, SizeBytes: 4, Data: []byte("abcd"), Source: src}}},
		{"bytes of the wrong size", 10, []Extent{{Offset: 0, SizeBytes: 4, Data: []byte("abc")}}},
		{"offset overflow", 10, []Extent{{Offset: 1 << 62, SizeBytes: 1 << 62, Source: src}}},
	}
	for _, tc := range tests {
		if _, err := New(tc.size, tc.extents); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: New = %v, want ErrInvalid", tc.name, err)
		}
	}
	// Touching extents, an extent up to the end, empty extents anywhere.
	if _, err := New(8, []Extent{{Offset: 0, SizeBytes: 4, Source: src}, {Offset: 9}, {Offset: 4, SizeBytes: 4, Data: []byte("abcd")}}); err != nil {
		t.Errorf("New of valid extents: %v", err)
	}
}

// New copies the slice: changing it afterwards does not change the list.
func TestNewCopies(t *testing.T) {
	es := []Extent{{Offset: 0, SizeBytes: 1, Data: []byte("a"), Name: "a"}}
	l, err := New(1, es)
	if err != nil {
		t.Fatal(err)
	}
	es[0].Offset, es[0].Name = 5, "changed"
	if e := l.Extents()[0]; e.Offset != 0 || e.Name != "a" {
		t.Errorf("list changed with its input: %+v", e)
	}
}

func TestConcurrentReads(t *testing.T) {
	l := sample(t)
	want := make([]byte, l.Size())
	if _, err := l.ReadAt(want, 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			p := make([]byte, 5)
			for i := range 1000 {
				off := int64((i*7 + g) % int(l.Size()))
				n, _ := l.ReadAt(p, off)
				if !bytes.Equal(p[:n], want[off:off+int64(n)]) {
					t.Errorf("ReadAt(5, %d) = %q", off, p[:n])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestReadAtAllocs(t *testing.T) {
	l := sample(t)
	p := make([]byte, 15)
	if a := testing.AllocsPerRun(100, func() { l.ReadAt(p, 0) }); a != 0 {
		t.Errorf("%v allocations per read", a)
	}
}

// FuzzReadAt compares ReadAt over random extents with a reference: the
// same image materialised as one byte slice and read like bytes.Reader.
// Each 3 bytes of layout make one extent: the gap before it, its size, and
// how it is held (bytes, a source, a source returning io.EOF at its end).
func FuzzReadAt(f *testing.F) {
	f.Add([]byte{0, 5, 0, 3, 7, 1, 0, 1, 2, 4}, uint16(0), uint16(30))
	f.Add([]byte{2, 20, 1}, uint16(21), uint16(5))
	f.Add([]byte{}, uint16(0), uint16(1))
	f.Add([]byte{7, 0, 0, 0, 9, 2}, uint16(3), uint16(0))
	f.Fuzz(func(t *testing.T, layout []byte, off, n uint16) {
		var es []Extent
		var ref []byte
		for i := 0; i+2 < len(layout); i += 3 {
			ref = append(ref, make([]byte, layout[i]%8)...)
			size := int(layout[i+1] % 24)
			b := make([]byte, size)
			for j := range b {
				b[j] = byte(len(ref)+j) | 1 // never 0, so a missed byte shows
			}
			e := Extent{Offset: int64(len(ref)), SizeBytes: int64(size), Name: "e"}
			switch layout[i+2] % 3 {
			case 0:
				e.Data = b
			case 1:
				e.Source = bytes.NewReader(b)
			case 2:
				e.Source = eofSource{b}
			}
			es = append(es, e)
			ref = append(ref, b...)
		}
		if len(layout)%3 != 0 {
			ref = append(ref, make([]byte, layout[len(layout)-1]%8)...) // trailing gap
		}
		l, err := New(int64(len(ref)), es)
		if err != nil {
			t.Fatal(err)
		}
		p := bytes.Repeat([]byte{0xFF}, int(n%64))
		want := bytes.Repeat([]byte{0xFF}, len(p))
		o := int64(off % 128)
		gotN, gotErr := l.ReadAt(p, o)
		wantN, wantErr := bytes.NewReader(ref).ReadAt(want, o)
		if gotN != wantN || !bytes.Equal(p[:gotN], want[:wantN]) || gotErr != wantErr {
			t.Errorf("ReadAt(%d bytes, %d) of %d = %d %q, %v; want %d %q, %v",
				len(p), o, len(ref), gotN, p[:gotN], gotErr, wantN, want[:wantN], wantErr)
		}
	})
}
