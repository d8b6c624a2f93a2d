package vfs

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/liveiso/liveiso/live"
)

// TestThroughput measures `dd bs=1M` of image.iso served with direct I/O and
// through the page cache, against dd of a regular file in the page cache,
// and, for reference, of that file through a FUSE passthrough mount (which
// liveiso does not use; see openFlags).
// It takes a while and wants a quiet machine, so it runs only when asked:
//
//	LIVEISO_VFS_THROUGHPUT=1 go test ./vfs/ -run Throughput -v
//
// (without -race).
func TestThroughput(t *testing.T) {
	if os.Getenv("LIVEISO_VFS_THROUGHPUT") == "" {
		t.Skip("set LIVEISO_VFS_THROUGHPUT=1 to measure")
	}
	const size = 512 << 20
	dir := t.TempDir()
	path := filepath.Join(dir, "image")
	data := make([]byte, size)
	if _, err := (pattern{tag: 9 << 48, size: size}).ReadAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	// dd's best of three runs, in MB/s (10^6 bytes).
	dd := func(what string, before func(), args ...string) float64 {
		t.Helper()
		var runs []float64
		for range 3 {
			if before != nil {
				before()
			}
			cmd := exec.Command("dd", append([]string{"of=/dev/null", "bs=1M"}, args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: %v: %s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
			}
			runs = append(runs, size/time.Since(start).Seconds()/1e6)
		}
		sort.Float64s(runs)
		t.Logf("%-52s %6.0f MB/s (runs %.0f)", what, runs[len(runs)-1], runs)
		return runs[len(runs)-1]
	}

	// Warm the regular file's page cache.
	if _, err := io.Copy(io.Discard, file); err != nil {
		t.Fatal(err)
	}
	base := dd("regular file in the page cache", nil, "if="+path)

	sources := []struct {
		name string
		r    io.ReaderAt
	}{
		{"in-memory source", bytes.NewReader(data)},
		{"page-cached file source (pread)", file},
	}
	for _, source := range sources {
		src := newFakeSource(size)
		src.cur.Store(&live.Snapshot{Generation: 1, Image: source.r, ImageSize: size})
		for _, pageCache := range []bool{false, true} {
			func() {
				s, mnt := mountT(t, src, Options{RepinRange: safePoint, pageCache: pageCache})
				image := filepath.Join(mnt, imageName)
				if pageCache {
					cold := dd(source.name+", page cache, cold (after Notify)", s.Notify, "if="+image)
					warm := dd(source.name+", page cache, warm", nil, "if="+image)
					t.Logf("    ratio to the regular file: cold %.2f, warm %.2f", cold/base, warm/base)
				} else {
					direct := dd(source.name+", direct I/O", nil, "if="+image)
					direct4 := dd(source.name+", direct I/O, bs=4M", nil, "if="+image, "bs=4M")
					direct128k := dd(source.name+", direct I/O, bs=128k", nil, "if="+image, "bs=128k")
					t.Logf("    ratio to the regular file: %.2f (bs=4M %.2f, bs=128k %.2f)", direct/base, direct4/base, direct128k/base)
				}
				unmountT(t, s, mnt)
			}()
		}
	}
	passthroughRow(t, dir, maxRequestBytes, func(what, path string) float64 { return dd(what, nil, "if="+path) }, base)
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
func passthroughRow(t *testing.T, dir string, maxWrite int, dd func(what, path string) float64, base float64) {
	var reads atomic.Int64
	root := &fs.LoopbackRoot{Path: dir}
	mnt := t.TempDir()
	srv, err := fs.Mount(mnt, &countingNode{LoopbackNode: &fs.LoopbackNode{RootData: root}, reads: &reads},
		&fs.Options{MountOptions: fuse.MountOptions{MaxWrite: maxWrite}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Unmount()
	if srv.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH == 0 {
		t.Logf("passthrough: this kernel does not offer it")
		return
	}
	pt := dd("page-cached file through FUSE passthrough (reference)", filepath.Join(mnt, "image"))
	if n := reads.Load(); n > 0 {
		t.Logf("    passthrough was not in effect (%d reads reached the daemon; it needs root)", n)
		return
	}
	t.Logf("    ratio to the regular file: %.2f", pt/base)
}
