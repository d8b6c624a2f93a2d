package rootfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchTree makes 100 directories of 100 files: about 10k entries.
func benchTree(b *testing.B) string {
	root := b.TempDir()
	for d := 0; d < 100; d++ {
		dir := filepath.Join(root, fmt.Sprintf("usr/share/d%03d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := 0; f < 100; f++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%03d", f)), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	return root
}

func BenchmarkScan(b *testing.B) {
	root := benchTree(b)
	b.ResetTimer()
	for b.Loop() {
		tr, err := Scan(context.Background(), root, Options{Excludes: []string{"*.pyc", "/var/cache/apt/*"}})
		if err != nil || len(tr.Entries()) < 10000 {
			b.Fatal(err, len(tr.Entries()))
		}
	}
}

// BenchmarkRescanOneFile is the edit-to-ready path: one file rewritten.
func BenchmarkRescanOneFile(b *testing.B) {
	root := benchTree(b)
	opts := Options{Excludes: []string{"*.pyc", "/var/cache/apt/*"}}
	prev, err := Scan(context.Background(), root, opts)
	if err != nil {
		b.Fatal(err)
	}
	changed := []string{"usr/share/d050/file050"}
	b.ResetTimer()
	for b.Loop() {
		tr, err := Rescan(context.Background(), prev, changed, opts)
		if err != nil || len(tr.Entries()) != len(prev.Entries()) {
			b.Fatal(err)
		}
	}
}

// BenchmarkRescanIntoOneFile is the Packer's edit path: one file rewritten,
// the new tree built in the memory of the tree before last, which is
// consumed.
func BenchmarkRescanIntoOneFile(b *testing.B) {
	root := benchTree(b)
	opts := Options{Excludes: []string{"*.pyc", "/var/cache/apt/*"}}
	prev, err := Scan(context.Background(), root, opts)
	if err != nil {
		b.Fatal(err)
	}
	var old *Tree
	changed := []string{"usr/share/d050/file050"}
	for b.Loop() {
		tr, err := RescanInto(context.Background(), prev, changed, opts, old)
		if err != nil || len(tr.Entries()) != len(prev.Entries()) {
			b.Fatal(err)
		}
		old, prev = prev, tr
	}
}
