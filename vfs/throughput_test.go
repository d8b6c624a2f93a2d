package vfs

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/liveiso/liveiso/live"
)

// BenchmarkThroughput measures `dd bs=1M` of image.iso served with direct
// I/O and through the page cache, against dd of a regular file in the page
// cache and, for reference, of that file through a FUSE passthrough mount
// (which liveiso does not use; see openFlags). Every row reports MB/s and,
// after the regular file's row, its ratio to it (x-regular-file). It wants
// a quiet machine and no -race:
//
//	go test ./vfs/ -run '^$' -bench Throughput -benchtime 3x
func BenchmarkThroughput(b *testing.B) {
	const size = 512 << 20
	dir := b.TempDir()
	path := filepath.Join(dir, "image")
	data := make([]byte, size)
	if _, err := (pattern{tag: 9 << 48, size: size}).ReadAt(data, 0); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	// Warm the regular file's page cache.
	if _, err := io.Copy(io.Discard, file); err != nil {
		b.Fatal(err)
	}

	var base float64 // MB/s of the regular file
	// dd runs dd of path b.N times, before (untimed) each time.
	dd := func(b *testing.B, before func(), path string, args ...string) float64 {
		b.SetBytes(size)
		for range b.N {
			if before != nil {
				b.StopTimer()
				before()
				b.StartTimer()
			}
			cmd := exec.Command("dd", append([]string{"if=" + path, "of=/dev/null", "bs=1M"}, args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				b.Fatalf("%s: %v: %s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
			}
		}
		mbps := float64(size) * float64(b.N) / b.Elapsed().Seconds() / 1e6
		if base > 0 {
			b.ReportMetric(mbps/base, "x-regular-file")
		}
		return mbps
	}

	b.Run("regular-file", func(b *testing.B) { base = dd(b, nil, path) })
	sources := []struct {
		name string
		r    io.ReaderAt
	}{
		{"memory", bytes.NewReader(data)},
		{"pread", file}, // a page-cached file
	}
	for _, source := range sources {
		src := newFakeSource(size)
		src.cur.Store(&live.Snapshot{Generation: 1, Image: source.r, ImageSize: size, Capacity: size})
		b.Run(source.name+"/direct", func(b *testing.B) {
			_, mnt := mountT(b, src, Options{RepinRange: safePoint})
			image := filepath.Join(mnt, imageName)
			b.Run("bs=1M", func(b *testing.B) { dd(b, nil, image) })
			b.Run("bs=4M", func(b *testing.B) { dd(b, nil, image, "bs=4M") })
			b.Run("bs=128k", func(b *testing.B) { dd(b, nil, image, "bs=128k") })
		})
		b.Run(source.name+"/page-cache", func(b *testing.B) {
			s, mnt := mountT(b, src, Options{RepinRange: safePoint, pageCache: true})
			image := filepath.Join(mnt, imageName)
			b.Run("cold", func(b *testing.B) { dd(b, func() { s.Publish(src.Acquire()) }, image) }) // as after every new generation
			b.Run("warm", func(b *testing.B) { dd(b, nil, image) })
		})
	}
	b.Run("passthrough", func(b *testing.B) {
		passthroughRow(b, dir, maxRequestBytes, func(b *testing.B, path string) { dd(b, nil, path) })
	})
}

// countingNode is a loopback node that counts the reads that reach the
// daemon, to tell whether passthrough was in effect.
type countingNode struct {
	*fs.LoopbackNode
	reads *atomic.Int64
}

var (
	_ = (fs.NodeReader)((*countingNode)(nil))
	_ = (fs.NodeWrapChilder)((*countingNode)(nil))
)

// WrapChild makes every node of the mount a countingNode.
func (n *countingNode) WrapChild(_ context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &countingNode{LoopbackNode: ops.(*fs.LoopbackNode), reads: n.reads}
}

func (n *countingNode) Read(ctx context.Context, f fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n.reads.Add(1)
	return f.(fs.FileReader).Read(ctx, dest, off)
}

// passthroughRow measures dd of dir/image through go-fuse's loopback file
// system with FUSE passthrough (kernel 6.9 and later, root): the kernel
// reads the backing file itself and the daemon never sees a read.
func passthroughRow(b *testing.B, dir string, maxWrite int, dd func(b *testing.B, path string)) {
	var reads atomic.Int64
	root := &fs.LoopbackRoot{Path: dir}
	mnt := b.TempDir()
	srv, err := fs.Mount(mnt, &countingNode{LoopbackNode: &fs.LoopbackNode{RootData: root}, reads: &reads},
		&fs.Options{MountOptions: fuse.MountOptions{MaxWrite: maxWrite}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Unmount()
	if srv.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH == 0 {
		b.Skip("no row: this kernel does not offer FUSE passthrough")
	}
	dd(b, filepath.Join(mnt, "image"))
	if n := reads.Load(); n > 0 {
		b.Errorf("passthrough was not in effect (%d reads reached the daemon; it needs root): the row measures plain FUSE", n)
	}
}
