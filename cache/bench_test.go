package cache

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// benchTree is a generated tree of about 10k files (~60 MB), shared by the
// benchmarks of one run.
var benchTree = sync.OnceValues(func() (string, error) {
	root, err := os.MkdirTemp("", "liveiso-bench")
	if err != nil {
		return "", err
	}
	old := time.Unix(1600000000, 0)
	for i := range 10000 {
		p := fmt.Sprintf("%s/d%03d/file%05d", root, i%200, i)
		if err := os.MkdirAll(root+fmt.Sprintf("/d%03d", i%200), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, pseudoRandom(i, 500+i*7919%12000), 0o644); err != nil {
			return "", err
		}
		os.Chtimes(p, old, old)
	}
	return root, nil
})

func BenchmarkColdPack(b *testing.B) {
	root, err := benchTree()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p, _ := NewPacker(Options{CacheDir: b.TempDir(), RacyWindow: time.Nanosecond}, nil)
		r, err := p.Pack(context.Background(), root, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(r.Stats().BytesIn)
	}
}

func BenchmarkOneFileEdit(b *testing.B) {
	root, err := benchTree()
	if err != nil {
		b.Fatal(err)
	}
	// The files, and the edited one always, are young: measure the
	// rebuild, not the racy rule.
	p, _ := NewPacker(Options{RacyWindow: time.Nanosecond}, nil)
	if _, err := p.Pack(context.Background(), root, nil); err != nil {
		b.Fatal(err)
	}
	rel := "d042/file04242"
	i := 0
	for b.Loop() {
		i++
		os.WriteFile(root+"/"+rel, pseudoRandom(i, 3000), 0o644)
		r, err := p.Pack(context.Background(), root, []string{rel})
		if err != nil {
			b.Fatal(err)
		}
		if n := r.Stats().ChunksRebuilt; n != 1 && n != 2 {
			b.Fatalf("%d chunks rebuilt", n)
		}
	}
}

func BenchmarkRestart(b *testing.B) {
	root, err := benchTree()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	p, _ := NewPacker(Options{CacheDir: dir, RacyWindow: time.Nanosecond}, nil)
	if _, err := p.Pack(context.Background(), root, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		q, _ := NewPacker(Options{CacheDir: dir, RacyWindow: time.Nanosecond}, nil)
		r, err := q.Pack(context.Background(), root, nil)
		if err != nil || r.Stats().ChunksRebuilt != 0 {
			b.Fatal(err, r.Stats())
		}
	}
}

// BenchmarkMeasureTree measures a real tree given in LIVEISO_MEASURE_TREE
// (compression LIVEISO_MEASURE_COMPRESSION): per iteration a cold Pack, a
// restart on the same store and, with LIVEISO_MEASURE_EDIT naming a file of
// the tree, a one-file edit (a line appended to it). Compare with
// `find . | cpio -o -H newc | gzip -9` timed by the caller:
//
//	LIVEISO_MEASURE_TREE=/var/tmp/tree go test -run '^$' -bench MeasureTree -benchtime 1x ./cache/
func BenchmarkMeasureTree(b *testing.B) {
	root := os.Getenv("LIVEISO_MEASURE_TREE")
	if root == "" {
		b.Skip("set LIVEISO_MEASURE_TREE to a rootfs to measure")
	}
	comp := Compression(os.Getenv("LIVEISO_MEASURE_COMPRESSION"))
	edit := os.Getenv("LIVEISO_MEASURE_EDIT")
	var cold, restart, edited time.Duration
	var st Stats
	for b.Loop() {
		opts := Options{CacheDir: b.TempDir(), Compression: comp}
		p, err := NewPacker(opts, nil)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		r, err := p.Pack(context.Background(), root, nil)
		if err != nil {
			b.Fatal(err)
		}
		cold += time.Since(t0)
		st = r.Stats()
		b.SetBytes(st.BytesIn)
		q, _ := NewPacker(opts, nil)
		t0 = time.Now()
		if _, err := q.Pack(context.Background(), root, nil); err != nil {
			b.Fatal(err)
		}
		restart += time.Since(t0)
		if edit == "" {
			continue
		}
		f, err := os.OpenFile(root+"/"+edit, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		f.WriteString("# edited\n")
		f.Close()
		t0 = time.Now()
		if _, err := q.Pack(context.Background(), root, []string{edit}); err != nil {
			b.Fatal(err)
		}
		edited += time.Since(t0)
	}
	n := float64(b.N)
	b.ReportMetric(cold.Seconds()/n, "cold-s/op")
	b.ReportMetric(restart.Seconds()/n, "restart-s/op")
	if edit != "" {
		b.ReportMetric(edited.Seconds()/n, "edit-s/op")
	}
	b.ReportMetric(float64(st.ChunksTotal), "chunks")
}
