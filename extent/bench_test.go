package extent

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkReadAt1MiB reads 1 MiB at a time through an image of 20000
// extents of 2-6 KiB (every other one bytes, the others a source) with
// gaps between them, about 200 extents per read.
func BenchmarkReadAt1MiB(b *testing.B) {
	data := bytes.Repeat([]byte("liveiso"), 1000)
	src := bytes.NewReader(data)
	var es []Extent
	var off int64
	for i := range 20000 {
		size := int64(2048 + i*97%4096)
		e := Extent{Offset: off, SizeBytes: size, Name: "e"}
		if i%2 == 0 {
			e.Data = data[:size]
		} else {
			e.Source = src
		}
		es = append(es, e)
		off += size + int64(i%3)*512
	}
	l, err := New(off, es)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	off = 0
	for b.Loop() {
		if _, err := l.ReadAt(buf, off); err != nil && err != io.EOF {
			b.Fatal(err)
		}
		off += int64(len(buf))
		if off >= l.Size() {
			off = 0
		}
	}
}
