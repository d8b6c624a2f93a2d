package vfs

// How long a generation lives: while an open file is pinned to it.

import (
	"context"
	"fmt"
	"github.com/liveiso/liveiso/internal/procfs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/watch"
)

// eventually polls cond for up to 10 s: the kernel sends FUSE RELEASE
// after close(2) has returned.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// Open handles of image.iso and initrd.img keep their generation across ten
// publications, every generation between is let go of when replaced, and
// the held one when the last handle is closed.
func TestHandlesHoldTheirGeneration(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(1, testImageSize, testInitrdSize)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
	image, err := os.Open(filepath.Join(mnt, imageName))
	if err != nil {
		t.Fatal(err)
	}
	defer image.Close()
	initrd, err := os.Open(filepath.Join(mnt, initrdName))
	if err != nil {
		t.Fatal(err)
	}
	defer initrd.Close()
	for gen := uint64(2); gen <= 11; gen++ {
		src.publish(gen, testImageSize, testInitrdSize)
	}
	for gen := uint64(2); gen <= 10; gen++ {
		if n := src.hold(gen).closed.Load(); n != 1 {
			t.Errorf("generation %d, replaced and never opened, let go of %d times, want 1", gen, n)
		}
	}
	if n := src.hold(1).closed.Load(); n != 0 {
		t.Fatalf("generation 1 let go of while two handles are open on it")
	}
	// Both still read generation 1 (a read away from the safe point).
	if gens := generationsIn(readFileAt(t, image, 1<<20, 4096), 1<<20); len(gens) != 1 || !gens[1] {
		t.Errorf("image.iso reads generations %v, want 1", gens)
	}
	if b := readFileAt(t, initrd, 0, 4096); b[6] != 1 {
		t.Errorf("initrd.img reads generation %d, want 1", b[6])
	}

	image.Close()
	time.Sleep(50 * time.Millisecond)
	if n := src.hold(1).closed.Load(); n != 0 {
		t.Fatalf("generation 1 let go of while initrd.img is still open on it")
	}
	initrd.Close()
	if !eventually(func() bool { return src.hold(1).closed.Load() == 1 }) {
		t.Fatalf("generation 1 let go of %d times 10 s after its last handle was closed, want 1", src.hold(1).closed.Load())
	}
	if n := src.hold(11).closed.Load(); n != 0 {
		t.Errorf("the current generation was let go of")
	}
}

// A handle that moves on at the safe point lets go of its old generation
// then, not when it is closed.
func TestMoveOnReleasesOldGeneration(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(1, testImageSize, testInitrdSize)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
	f, err := os.Open(filepath.Join(mnt, imageName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src.publish(2, testImageSize, testInitrdSize)
	if n := src.hold(1).closed.Load(); n != 0 {
		t.Fatal("generation 1 let go of while a handle is open on it")
	}
	off := safePoint.Off
	if gens := generationsIn(readFileAt(t, f, off, 2048), off); len(gens) != 1 || !gens[2] {
		t.Fatalf("read of the safe point: generations %v, want 2", gens)
	}
	if n := src.hold(1).closed.Load(); n != 1 {
		t.Errorf("generation 1 let go of %d times after its handle moved on, want 1", n)
	}
	if n := src.hold(2).refs.Load(); n != 3 {
		t.Errorf("generation 2 has %d references, want 3 (the source's current, the mount's, the handle)", n)
	}
}

// openFDs counts this process's file descriptors open on path.
func openFDs(t *testing.T, path string) int {
	t.Helper()
	n, err := procfs.OpenFDs(path)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The same with the real daemon and real files: an image.iso handle holds
// generation 1 across ten publications, and closing it closes generation 1's
// kernel and extra file, with no garbage collection in between.
func TestClosedHandleClosesGenerationFiles(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"etc", "sbin"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeTestFile(t, filepath.Join(root, "sbin/init"), "#!/bin/sh\n")
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	writeTestFile(t, kernel, strings.Repeat("k", 5000))
	extraDir := t.TempDir()
	extra := filepath.Join(extraDir, "install.cgz")
	writeTestFile(t, extra, "extra")
	b, err := generation.NewBuilder(generation.Options{Rootfs: root, Kernel: kernel, Extra: extraDir,
		Initramfs: cache.Options{CacheDir: t.TempDir()}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewBuilder (isolinux is installed by scripts/setup.sh): %v", err)
	}
	defer b.Close()
	d := live.New(b, live.Options{Rootfs: root}, slog.New(slog.DiscardHandler))
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := d.First(ctx); err != nil {
		t.Fatal(err)
	}
	off, n := generation.RepinRange()
	_, mnt := mountT(t, d, Options{RepinRange: ByteRange{Off: off, Len: n}})
	batches := make(chan watch.Batch)
	ran := make(chan struct{})
	go func() { d.Run(ctx, batches); close(ran) }()
	defer func() { cancel(); <-ran }()

	f, err := os.Open(filepath.Join(mnt, imageName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	readFileAt(t, f, 16*2048, 2048) // pinned at the safe point, as a boot does
	after := n + 2048               // past the safe point: directories, the kernel
	before := readFileAt(t, f, after, 64<<10)
	for i := 2; i <= 11; i++ {
		writeTestFile(t, filepath.Join(root, "etc/marker"), fmt.Sprint("edit ", i))
		batches <- watch.Batch{Paths: []string{"etc/marker"}}
		if !eventually(func() bool { return d.Current().Generation == uint64(i) }) {
			t.Fatalf("no generation %d; status.json:\n%s", i, d.StatusJSON())
		}
	}
	if n, m := openFDs(t, kernel), openFDs(t, extra); n != 2 || m != 2 {
		t.Errorf("%d fds on the kernel, %d on the extra file with generation 1 held and 11 current, want 2, 2", n, m)
	}
	// The handle still reads generation 1 away from the safe point.
	if again := readFileAt(t, f, after, 64<<10); string(again) != string(before) {
		t.Error("the handle's image changed without a read of the safe point")
	}
	f.Close()
	if !eventually(func() bool { return openFDs(t, kernel) == 1 && openFDs(t, extra) == 1 }) {
		t.Errorf("%d fds on the kernel, %d on the extra file 10 s after the handle was closed, want 1, 1 (the current generation's)",
			openFDs(t, kernel), openFDs(t, extra))
	}
}

func writeTestFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
