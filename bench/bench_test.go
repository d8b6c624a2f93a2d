package main

// Benchmarks of liveiso's hot paths, called in-process so that a CPU
// profile shows where the time of a missed target goes:
//
//	LIVEISO_BENCH_ROOTFS=/var/tmp/liveiso-bench/corpus/synthetic-10k-seed1 \
//	  go test ./bench/ -run '^$' -bench . -benchtime 3x -cpuprofile cpu.out
//	go tool pprof -top bench.test cpu.out
//
// Without LIVEISO_BENCH_ROOTFS they are skipped: they need a tree that is
// worth measuring.

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/internal/fixture"
	"github.com/liveiso/liveiso/internal/testenv"
	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/vfs"
)

func benchRootfs(b *testing.B) string {
	root := os.Getenv("LIVEISO_BENCH_ROOTFS")
	if root == "" {
		b.Skip("set LIVEISO_BENCH_ROOTFS to a tree")
	}
	return root
}

func newBuilder(b *testing.B, rootfs, cacheDir string) *generation.Builder {
	k := fixture.MustKernel(b)
	builder, err := generation.NewBuilder(generation.Options{
		Rootfs:    rootfs,
		Kernel:    k.Vmlinuz,
		Append:    testenv.KernelArgs,
		Initramfs: cache.Options{CacheDir: cacheDir, Compression: generation.AutoCompression},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { builder.Close() })
	return builder
}

// BenchmarkColdBuild is `liveiso build` with an empty cache, without the
// write to a file: scan, chunk, compress, plan, read the image.
func BenchmarkColdBuild(b *testing.B) {
	rootfs := benchRootfs(b)
	for b.Loop() {
		builder := newBuilder(b, rootfs, b.TempDir())
		g, err := builder.Build(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, io.NewSectionReader(g.Image, 0, g.Image.Size())); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(g.Image.Size())
	}
}

// BenchmarkImageReadAt reads a generation's image in 1 MiB ReadAt calls, as
// the FUSE layer does for dd bs=1M: the user-space part of a live read.
func BenchmarkImageReadAt(b *testing.B) {
	g := buildOnce(b)
	buf := make([]byte, 1<<20)
	b.SetBytes(g.Image.Size())
	for b.Loop() {
		for off := int64(0); off < g.Image.Size(); off += int64(len(buf)) {
			if _, err := g.Image.ReadAt(buf[:min(int64(len(buf)), g.Image.Size()-off)], off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkFUSERead reads image.iso of a vfs mount of a generation with
// 1 MiB reads: the whole live read path, kernel round trips included.
func BenchmarkFUSERead(b *testing.B) {
	g := buildOnce(b)
	// The snapshot holds nothing: the benchmark keeps Build's reference
	// to the generation for the whole run.
	snap := &live.Snapshot{Generation: 1, Image: g.Image, ImageSize: g.Image.Size(), Capacity: g.Image.Size(), Initrd: g.Initrd, InitrdSize: g.Initrd.Size()}
	mnt := filepath.Join(b.TempDir(), "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		b.Fatal(err)
	}
	srv, err := vfs.Mount(mnt, snap, vfs.Options{}, nil)
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { srv.Unmount() })
	buf := make([]byte, 1<<20)
	b.SetBytes(g.Image.Size())
	for b.Loop() {
		f, err := os.Open(filepath.Join(mnt, "image.iso"))
		if err != nil {
			b.Fatal(err)
		}
		for left := g.Image.Size(); left > 0; {
			n, err := f.Read(buf[:min(int64(len(buf)), left)])
			if err != nil {
				b.Fatal(err)
			}
			left -= int64(n)
		}
		f.Close()
	}
}

// BenchmarkEditRebuild is the daemon's work after a one-file edit: a Build
// told which path changed.
func BenchmarkEditRebuild(b *testing.B) {
	rootfs := benchRootfs(b)
	t, err := findEditTargets(rootfs, 1)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(rootfs, t.File)
	orig, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.Cleanup(func() {
		os.WriteFile(path, orig, fi.Mode().Perm())
		os.Chtimes(path, fi.ModTime(), fi.ModTime())
	})
	builder := newBuilder(b, rootfs, b.TempDir())
	if _, err := builder.Build(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	i := 0
	var compressed int64
	for b.Loop() {
		i++
		if err := os.WriteFile(path, append([]byte{byte(i)}, orig...), 0o644); err != nil {
			b.Fatal(err)
		}
		g, err := builder.Build(context.Background(), []string{t.File})
		if err != nil {
			b.Fatal(err)
		}
		compressed += g.Stats.BytesCompressed
		g.Release()
	}
	b.ReportMetric(float64(compressed)/float64(b.N)/(1<<20), "MiB-compressed/op")
}

// buildOnce makes one generation of the tree, outside the timed loop.
func buildOnce(b *testing.B) *generation.Generation {
	builder := newBuilder(b, benchRootfs(b), b.TempDir())
	g, err := builder.Build(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	return g
}
