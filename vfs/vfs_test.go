package vfs

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/liveiso/liveiso/live"
)

const (
	testImageSize  = 3<<20 + 4096 + 100 // not a multiple of anything
	testCapacity   = 8 << 20
	testInitrdSize = 1<<20 + 12
)

func TestListing(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(1, testImageSize, testInitrdSize)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})

	ents, err := os.ReadDir(mnt)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{imageName, initrdName, statusName}; !equalStrings(names, want) {
		t.Errorf("ReadDir = %q, want %q", names, want)
	}
	checkStat := func(name string, mode os.FileMode, size int64) {
		t.Helper()
		fi, err := os.Stat(filepath.Join(mnt, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), mode)
		}
		if size >= 0 && fi.Size() != size {
			t.Errorf("%s: size %d, want %d", name, fi.Size(), size)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uint32(os.Getuid()) || st.Gid != uint32(os.Getgid()) {
			t.Errorf("%s: owner %d:%d, want %d:%d", name, st.Uid, st.Gid, os.Getuid(), os.Getgid())
		}
	}
	checkStat(".", os.ModeDir|0o555, -1)
	checkStat(imageName, 0o444, testCapacity)
	checkStat(initrdName, 0o444, testInitrdSize)
	checkStat(statusName, 0o444, int64(len(src.StatusJSON())))

	if _, err := os.OpenFile(filepath.Join(mnt, imageName), os.O_RDWR, 0); !errors.Is(err, syscall.EROFS) {
		t.Errorf("open image.iso for writing: %v, want EROFS", err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "new"), nil, 0o644); err == nil {
		t.Errorf("creating a file succeeded")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadImageRandomOffsets(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(7, testImageSize, testInitrdSize)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})

	f, err := os.Open(filepath.Join(mnt, imageName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		n := 1 + rng.IntN(1500<<10)
		if i%3 == 0 {
			n = 1 + rng.IntN(5000)
		}
		off := rng.Int64N(testCapacity - int64(n) + 1)
		if i%10 == 0 { // straddle the end of the content
			off = max(0, testImageSize-int64(n)/2)
		}
		got := readFileAt(t, f, off, n)
		if want := imageBytes(7, testImageSize, off, n); !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes at %d: first difference at +%d", n, off, firstDiff(got, want))
		}
	}
	// The last bytes of the capacity are zeros, then EOF.
	tail := readFileAt(t, f, testCapacity-4096, 4096)
	if !bytes.Equal(tail, make([]byte, 4096)) {
		t.Errorf("bytes before the capacity are not zero")
	}
	b := make([]byte, 10)
	if n, err := f.ReadAt(b, testCapacity); n != 0 || err != io.EOF {
		t.Errorf("ReadAt(capacity) = %d, %v; want 0, EOF", n, err)
	}
	if n, err := f.ReadAt(b, testCapacity-4); n != 4 || err != io.EOF {
		t.Errorf("ReadAt(capacity-4, 10 bytes) = %d, %v; want 4, EOF", n, err)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestStatusJSON(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(3, testImageSize, testInitrdSize)
	_, mnt := mountT(t, src, Options{})
	path := filepath.Join(mnt, statusName)

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := os.ReadFile(path); err != nil || string(got) != `{"generation": 3, "state": "ready"}`+"\n" {
		t.Errorf("status.json = %q, %v", got, err)
	}
	src.publish(12, testImageSize, testInitrdSize)
	if got, err := os.ReadFile(path); err != nil || string(got) != `{"generation": 12, "state": "ready"}`+"\n" {
		t.Errorf("status.json after a new generation = %q, %v", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(src.StatusJSON())) {
		t.Errorf("stat status.json: %v, %v; want size %d", fi.Size(), err, len(src.StatusJSON()))
	}
	// The handle opened before keeps its document.
	if got, err := io.ReadAll(f); err != nil || string(got) != `{"generation": 3, "state": "ready"}`+"\n" {
		t.Errorf("status.json opened before = %q, %v", got, err)
	}
}

// Before the first generation (a mount made without one), the files are
// empty; a new open after the first reads it.
func TestNoGenerationYet(t *testing.T) {
	src := newFakeSource(1 << 20)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
	for _, name := range []string{imageName, initrdName} {
		if fi, err := os.Stat(filepath.Join(mnt, name)); err != nil || fi.Size() != 0 {
			t.Errorf("%s before the first generation: %v", name, err)
		}
	}
	src.publish(1, 4096*20, 10)
	f, err := os.Open(filepath.Join(mnt, imageName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if g := generationsIn(readFileAt(t, f, 0, 40960), 0); len(g) != 1 || !g[1] {
		t.Errorf("after the first generation, a new handle reads generations %v", g)
	}
}

// The capacity grows: the size follows the published snapshot, and open handles read
// the grown image too.
func TestCapacityGrows(t *testing.T) {
	src := newFakeSource(1 << 20)
	src.publish(1, 1<<20, 10)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
	path := filepath.Join(mnt, imageName)
	src.capacity.Store(3 << 20)
	src.publish(2, 5<<19, 10)
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != 3<<20 {
		t.Fatalf("stat after growth: %v, %v; want %d", fi.Size(), err, 3<<20)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, imageBytes(2, 5<<19, 0, 3<<20)) {
		t.Errorf("read after growth: %d bytes, %v", len(got), err)
	}
}

// maxReadRecorder remembers the largest read it served.
type maxReadRecorder struct {
	io.ReaderAt
	max atomic.Int64
}

func (r *maxReadRecorder) ReadAt(b []byte, off int64) (int, error) {
	for {
		m := r.max.Load()
		if int64(len(b)) <= m || r.max.CompareAndSwap(m, int64(len(b))) {
			break
		}
	}
	return r.ReaderAt.ReadAt(b, off)
}

// The kernel sends 1 MiB reads: a big read costs few round trips.
func TestLargeReads(t *testing.T) {
	src := newFakeSource(8 << 20)
	rec := &maxReadRecorder{ReaderAt: pattern{tag: 1 << 48, size: 8 << 20}}
	src.cur.Store(&live.Snapshot{Generation: 1, Image: rec, ImageSize: 8 << 20, Capacity: 8 << 20})
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
	f, err := os.Open(filepath.Join(mnt, imageName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	readFileAt(t, f, 0, 4<<20)
	if got := rec.max.Load(); got != maxRequestBytes {
		t.Errorf("largest read request: %d bytes, want %d", got, maxRequestBytes)
	}
}
