package isolayout

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
)

// benchTree is about 5000 extra files in 50 directories plus a 1 GB
// volatile initrd.
func benchTree(b testing.TB) Input {
	small := bytes.NewReader(pattern(20_000, 5))
	var dirs []*Node
	for d := range 50 {
		var files []*Node
		for f := range 100 {
			files = append(files, &Node{Name: fmt.Sprintf("file-%03d with a longer name.data", f), Mode: 0o644, Mtime: testDate,
				Size: int64(1000 + f*97), Source: small})
		}
		dirs = append(dirs, dir(fmt.Sprintf("directory-%02d", d), files...))
	}
	dirs = append(dirs, &Node{Name: "initrd.img", Mode: 0o644, Mtime: testDate, Size: 1 << 30, Source: zeroReader{}, Volatile: true})
	return Input{VolumeID: "BENCH", Date: testDate, Root: dir("", dirs...)}
}

func BenchmarkPlan(b *testing.B) {
	in := benchTree(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Plan(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanJoliet is BenchmarkPlan with the Joliet tree: what Joliet
// adds to every generation's plan.
func BenchmarkPlanJoliet(b *testing.B) {
	in := benchTree(b)
	in.Joliet = &Joliet{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Plan(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadAt1MiB(b *testing.B) {
	l, err := Plan(benchTree(b))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var off int64
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

// TestReadAtPieces checks that any range read equals the same range of a
// whole read, at the end of the image too, and from several goroutines.
func TestReadAtPieces(t *testing.T) {
	in, _ := realTree(t, pattern(70_000, 9))
	l, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	whole := readAll(t, l)
	if int64(len(whole)) != l.Size() || l.Size()%SectorSize != 0 {
		t.Fatal("size")
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 500 {
				off := r.Int64N(l.Size() + 10)
				p := make([]byte, r.IntN(3*SectorSize+100))
				n, err := l.ReadAt(p, off)
				wantN := int(max(0, min(int64(len(p)), l.Size()-off)))
				if n != wantN || (n < len(p)) != (err == io.EOF) || err != nil && err != io.EOF {
					t.Errorf("ReadAt(%d bytes, %d) = %d, %v; want %d", len(p), off, n, err, wantN)
					return
				}
				if !bytes.Equal(p[:n], whole[min(off, l.Size()):min(off, l.Size())+int64(n)]) {
					t.Errorf("ReadAt(%d bytes, %d): wrong bytes", len(p), off)
					return
				}
			}
		})
	}
	wg.Wait()
	var sum int64
	for _, e := range l.Extents() {
		sum += e.SizeBytes
		if e.Offset+e.SizeBytes > l.Size() {
			t.Errorf("extent %s beyond the image", e.Name)
		}
	}
	if sum == 0 {
		t.Error("no extents")
	}
}
