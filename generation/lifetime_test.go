package generation

import (
	"github.com/liveiso/liveiso/internal/procfs"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/liveiso/liveiso/cache"
)

// closeRecorder is a source that counts its Close calls.
type closeRecorder struct {
	mu     sync.Mutex
	closed int
}

func (c *closeRecorder) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed++
	return nil
}

func (c *closeRecorder) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func testGeneration(closers ...*closeRecorder) *Generation {
	g := &Generation{Number: 7}
	for _, c := range closers {
		g.closers = append(g.closers, c)
	}
	g.refs.Store(1)
	return g
}

// The last Release closes every file, once; until then none is closed.
func TestReleaseClosesOnLastReference(t *testing.T) {
	a, b := &closeRecorder{}, &closeRecorder{}
	g := testGeneration(a, b)
	g.Retain()
	if !g.TryRetain() {
		t.Fatal("TryRetain of a held generation failed")
	}
	g.Release()
	g.Release()
	if a.count() != 0 || b.count() != 0 {
		t.Fatalf("closed %d, %d times with a reference left", a.count(), b.count())
	}
	g.Release()
	if a.count() != 1 || b.count() != 1 {
		t.Fatalf("closed %d, %d times after the last Release, want 1, 1", a.count(), b.count())
	}
	if g.TryRetain() {
		t.Error("TryRetain succeeded on a released generation")
	}
	if a.count() != 1 {
		t.Errorf("closed %d times, want 1", a.count())
	}
}

// Releasing more than was retained, or retaining what was let go of,
// panics rather than freeing twice.
func TestReleaseTwicePanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   func(*Generation)
	}{
		{"Release", (*Generation).Release},
		{"Retain", (*Generation).Retain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &closeRecorder{}
			g := testGeneration(c)
			g.Release()
			defer func() {
				if recover() == nil {
					t.Errorf("%s after the last Release did not panic", tc.name)
				}
				if c.count() != 1 {
					t.Errorf("closed %d times, want 1", c.count())
				}
			}()
			tc.op(g)
		})
	}
}

// Readers racing the last Release: every TryRetain that succeeds happens
// before the close, and the files close exactly once.
func TestTryRetainRacesRelease(t *testing.T) {
	for range 100 {
		c := &closeRecorder{}
		g := testGeneration(c)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if g.TryRetain() {
					if c.count() != 0 {
						t.Error("TryRetain succeeded on a closed generation")
					}
					g.Release()
				}
			}()
		}
		g.Release()
		wg.Wait()
		if c.count() != 1 {
			t.Fatalf("closed %d times, want 1", c.count())
		}
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

// realBuilder is a builder over a tiny rootfs with a stand-in kernel and one
// extra file, BIOS boot only.
func realBuilder(t *testing.T) (b *Builder, kernel, extra string) {
	t.Helper()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "init"), "#!/bin/sh\n")
	kernel = filepath.Join(t.TempDir(), "vmlinuz")
	writeFile(t, kernel, strings.Repeat("k", 5000))
	extraDir := t.TempDir()
	extra = filepath.Join(extraDir, "install.cgz")
	writeFile(t, extra, "extra")
	b, err := NewBuilder(Options{Rootfs: root, Kernel: kernel, Extra: extraDir, Boot: Boot{BIOS: true}, NoHybrid: true,
		Initramfs: cache.Options{Compression: cache.Gzip}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewBuilder (isolinux is installed by scripts/setup.sh): %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b, kernel, extra
}

// A generation's kernel and extra files are open while it is held and
// closed at its last Release, with no garbage collection in between.
func TestReleaseClosesRealFiles(t *testing.T) {
	b, kernel, extra := realBuilder(t)
	var gens []*Generation
	for range 3 {
		g, err := b.Build(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		gens = append(gens, g)
	}
	if n := openFDs(t, kernel); n != 3 {
		t.Errorf("%d fds on the kernel with three generations held, want 3", n)
	}
	gens[0].Retain()
	for _, g := range gens {
		g.Release()
	}
	if n, m := openFDs(t, kernel), openFDs(t, extra); n != 1 || m != 1 {
		t.Errorf("%d fds on the kernel, %d on the extra file with one generation held, want 1, 1", n, m)
	}
	// The one still held reads its kernel and extra file.
	if _, err := io.Copy(io.Discard, io.NewSectionReader(gens[0].Image, 0, gens[0].Image.Size())); err != nil {
		t.Errorf("read the held generation: %v", err)
	}
	gens[0].Release()
	if n, m := openFDs(t, kernel), openFDs(t, extra); n != 0 || m != 0 {
		t.Errorf("%d fds on the kernel, %d on the extra file after the last Release, want 0, 0", n, m)
	}
}

// A build that fails after it opened files closes them.
func TestFailedBuildClosesFiles(t *testing.T) {
	b, kernel, extra := realBuilder(t)
	if err := syscall.Mkfifo(filepath.Join(filepath.Dir(extra), "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "FIFO") {
		t.Fatalf("Build with a FIFO among the extra files: %v, want an error naming it", err)
	}
	if n := openFDs(t, kernel); n != 0 {
		t.Errorf("%d fds on the kernel after a failed build, want 0", n)
	}
}

// pinned lists the members this process pins in the store at cacheDir.
func pinned(t *testing.T, cacheDir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(cacheDir, "pins", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// A generation pins its initrd's members in the disk store while it is
// held, also after newer Packs, and its last Release unpins them.
func TestReleaseUnpinsMembers(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "init"), "#!/bin/sh\n")
	writeFile(t, filepath.Join(root, "etc/marker"), "one")
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	writeFile(t, kernel, strings.Repeat("k", 5000))
	cacheDir := t.TempDir()
	b, err := NewBuilder(Options{Rootfs: root, Kernel: kernel, Boot: Boot{BIOS: true}, NoHybrid: true,
		// Members of files younger than the packer's racy window are not
		// stored, so not pinned either: a nanosecond's window takes the
		// files just written.
		Initramfs: cache.Options{Compression: cache.Gzip, CacheDir: cacheDir, RacyWindow: time.Nanosecond}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewBuilder (isolinux is installed by scripts/setup.sh): %v", err)
	}
	defer b.Close()
	g1, err := b.Build(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	first := pinned(t, cacheDir)
	if len(first) == 0 {
		t.Fatal("generation 1 pins no member")
	}
	writeFile(t, filepath.Join(root, "etc/marker"), "two")
	g2, err := b.Build(t.Context(), []string{"etc/marker"})
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Release()
	both := pinned(t, cacheDir)
	for _, k := range first {
		if !slices.Contains(both, k) {
			t.Errorf("member %s of generation 1, still held, is not pinned after the next Pack", k)
		}
	}
	if len(both) <= len(first) {
		t.Fatalf("pins %v after generation 2, %v after generation 1: the edit made no new member", both, first)
	}
	g1.Release()
	for _, k := range pinned(t, cacheDir) {
		if slices.Contains(first, k) {
			t.Errorf("member %s of generation 1 still pinned after its last Release", k)
		}
	}
}
