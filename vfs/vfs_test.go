package vfs

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
	checkStat(statusName, 0o444, int64(len(src.Status())))

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

// A sequential copy started before a swap gets exactly the generation it
// started with; an open after the swap gets the new one.
func TestHandleKeepsItsGeneration(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(1, testImageSize, testInitrdSize)
	s, mnt := mountT(t, src, Options{RepinRange: safePoint})
	path := filepath.Join(mnt, imageName)

	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	// The copy's first read (which covers the safe point) ...
	var copied bytes.Buffer
	first := make([]byte, 64<<10)
	if _, err := io.ReadFull(old, first); err != nil {
		t.Fatal(err)
	}
	copied.Write(first)
	// ... then a new generation of another size, mid-copy.
	src.publish(2, testImageSize+5000, testInitrdSize+8)
	s.Notify()

	fresh, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := imageBytes(2, testImageSize+5000, 0, testCapacity); !bytes.Equal(fresh, want) {
		t.Errorf("a new open does not read generation 2 (differs at %d; generations %v)", firstDiff(fresh, want), generationsIn(fresh, 0))
	}

	if _, err := io.Copy(&copied, old); err != nil {
		t.Fatal(err)
	}
	if want := imageBytes(1, testImageSize, 0, testCapacity); !bytes.Equal(copied.Bytes(), want) {
		t.Errorf("the copy started before the swap is not generation 1 (differs at %d; generations %v)",
			firstDiff(copied.Bytes(), want), generationsIn(copied.Bytes(), 0))
	}
}

// An open handle moves on to the newest generation when, and only when, a
// read touches the safe point; the same holds without a safe point: never.
func TestHandleMovesOnAtSafePoint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		repin ByteRange
	}{{"safe point", safePoint}, {"no safe point", ByteRange{}}} {
		t.Run(tc.name, func(t *testing.T) {
			src := newFakeSource(testCapacity)
			src.publish(1, testImageSize, testInitrdSize)
			s, mnt := mountT(t, src, Options{RepinRange: tc.repin})
			f, err := os.Open(filepath.Join(mnt, imageName))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()

			genAt := func(off int64, n int) uint64 {
				t.Helper()
				b := readFileAt(t, f, off, n)
				gens := generationsIn(b, off)
				if len(gens) != 1 {
					t.Fatalf("read at %d: generations %v, want exactly one", off, gens)
				}
				for g := range gens {
					return g
				}
				return 0
			}
			if g := genAt(1<<20, 4096); g != 1 {
				t.Fatalf("generation %d before the swap", g)
			}
			src.publish(2, testImageSize, testInitrdSize)
			s.Notify()
			// Reads around the safe point but not in it stay.
			if g := genAt(safePoint.Off-4096, 4096); g != 1 {
				t.Errorf("read just before the safe point moved on to %d", g)
			}
			if g := genAt(safePoint.Off+safePoint.Len, 4096); g != 1 {
				t.Errorf("read just after the safe point moved on to %d", g)
			}
			want := uint64(2)
			if tc.repin.Len == 0 {
				want = 1
			}
			// The last byte of sector 17 is enough.
			if g := genAt(safePoint.Off+safePoint.Len-8, 8); g != want {
				t.Errorf("read of the end of the safe point: generation %d, want %d", g, want)
			}
			if g := genAt(2<<20, 4096); g != want {
				t.Errorf("read after the safe point: generation %d, want %d", g, want)
			}
		})
	}
}

func TestStatusJSON(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(3, testImageSize, testInitrdSize)
	s, mnt := mountT(t, src, Options{})
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
	s.Notify()
	if got, err := os.ReadFile(path); err != nil || string(got) != `{"generation": 12, "state": "ready"}`+"\n" {
		t.Errorf("status.json after a new generation = %q, %v", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(src.Status())) {
		t.Errorf("stat status.json: %v, %v; want size %d", fi.Size(), err, len(src.Status()))
	}
	// The handle opened before keeps its document.
	if got, err := io.ReadAll(f); err != nil || string(got) != `{"generation": 3, "state": "ready"}`+"\n" {
		t.Errorf("status.json opened before = %q, %v", got, err)
	}
}

func TestInitrdFollowsGeneration(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(1, testImageSize, testInitrdSize)
	s, mnt := mountT(t, src, Options{RepinRange: safePoint})
	path := filepath.Join(mnt, initrdName)

	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	for gen, size := range map[uint64]int64{2: testInitrdSize + 4097, 3: 100, 4: 0, 5: 3 << 20} {
		src.publish(gen, testImageSize, size)
		s.Notify()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != size {
			t.Errorf("generation %d: initrd.img size %d, want %d", gen, fi.Size(), size)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, initrdBytes(gen, size)) {
			t.Errorf("generation %d: initrd.img content differs at %d (read %d bytes)", gen, firstDiff(got, initrdBytes(gen, size)), len(got))
		}
	}
	// Opened at generation 1, it reads generation 1, even at the safe point.
	got, err := io.ReadAll(old)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, initrdBytes(1, testInitrdSize)) {
		t.Errorf("initrd.img opened at generation 1 differs at %d (read %d bytes)", firstDiff(got, initrdBytes(1, testInitrdSize)), len(got))
	}
}

// Before the first generation, the files are empty (image.iso: zeros).
func TestNoGenerationYet(t *testing.T) {
	src := newFakeSource(1 << 20)
	s, mnt := mountT(t, src, Options{RepinRange: safePoint})
	f, err := os.Open(filepath.Join(mnt, imageName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b := readFileAt(t, f, 0, 1<<20); !bytes.Equal(b[:safePoint.Off], make([]byte, safePoint.Off)) {
		t.Errorf("image.iso before the first generation is not zeros")
	}
	if fi, err := os.Stat(filepath.Join(mnt, initrdName)); err != nil || fi.Size() != 0 {
		t.Errorf("initrd.img before the first generation: %v", err)
	}
	// The first generation arrives; QEMU, which opened early, starts over.
	src.publish(1, 4096*20, 10)
	s.Notify()
	if g := generationsIn(readFileAt(t, f, 0, 40960), 0); len(g) != 1 || !g[1] {
		t.Errorf("after the first generation, an early handle reads generations %v", g)
	}
}

// The capacity grows: the size follows after Notify, and open handles read
// the grown image too.
func TestCapacityGrows(t *testing.T) {
	src := newFakeSource(1 << 20)
	src.publish(1, 1<<20, 10)
	s, mnt := mountT(t, src, Options{RepinRange: safePoint})
	path := filepath.Join(mnt, imageName)
	src.capacity.Store(3 << 20)
	src.publish(2, 5<<19, 10)
	s.Notify()
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != 3<<20 {
		t.Fatalf("stat after growth: %v, %v; want %d", fi.Size(), err, 3<<20)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, imageBytes(2, 5<<19, 0, 3<<20)) {
		t.Errorf("read after growth: %d bytes, %v", len(got), err)
	}
}

// Readers open, read and close in a loop while generations are swapped in
// under them. Each sequential pass over image.iso and each read of
// initrd.img sees exactly one generation, never an older one than the
// newest published before it opened. Run it with -race.
func TestConcurrentReadersAndSwaps(t *testing.T) {
	const imageSize = 512<<10 + 24
	src := newFakeSource(1 << 20)
	src.publish(1, imageSize, 3000)
	s, mnt := mountT(t, src, Options{RepinRange: safePoint})

	var published atomic.Uint64
	published.Store(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for gen := uint64(2); ; gen++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			src.publish(gen, imageSize-int64(gen%7)*8, 3000+int64(gen%13)*8)
			published.Store(gen)
			s.Notify()
		}
	})
	var passes, initrds atomic.Int64
	errs := make(chan error, 16)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for r := 0; r < 4; r++ {
		wg.Go(func() {
			buf := make([]byte, 1<<20)
			for time.Now().Before(deadline) {
				before := published.Load()
				name := imageName
				if r == 3 {
					name = initrdName
				}
				f, err := os.Open(filepath.Join(mnt, name))
				if err != nil {
					fail(err)
					return
				}
				// Sequential, in reads of varied sizes, like cp and dd.
				var off int64
				chunk := 4096 << (r % 3)
				gens := map[uint64]bool{}
				for {
					n, err := f.Read(buf[:chunk])
					for g := range generationsIn(buf[:n-n%8], off) {
						gens[g] = true
					}
					off += int64(n)
					if err == io.EOF || n == 0 {
						break
					}
					if err != nil {
						fail(err)
						break
					}
				}
				f.Close()
				if len(gens) != 1 {
					fail(errors.New(name + ": one pass saw generations " + fmtGens(gens)))
				}
				for g := range gens {
					if g < before {
						fail(errors.New(name + ": opened after generation " + fmtGens(map[uint64]bool{before: true}) + " was published but read " + fmtGens(gens)))
					}
				}
				if name == imageName {
					passes.Add(1)
				} else {
					initrds.Add(1)
				}
			}
		})
	}
	time.Sleep(time.Until(deadline))
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d passes over image.iso and %d over initrd.img during %d generations", passes.Load(), initrds.Load(), published.Load())
	if passes.Load() == 0 || published.Load() < 10 {
		t.Errorf("too little happened to test anything")
	}
}

func fmtGens(gens map[uint64]bool) string {
	var b []byte
	for g := range gens {
		b = append(b, ' ')
		b = appendUint(b, g)
	}
	return "{" + string(b) + " }"
}

func appendUint(b []byte, v uint64) []byte {
	if v >= 10 {
		b = appendUint(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

// A copy in blocks smaller than the safe point's offset reaches the safe
// point in the middle of its pass: it must not move on there. A run of reads
// that did not start at 0 is not a copy and does move on.
func TestSmallBlockCopyStaysPut(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(1, testImageSize, testInitrdSize)
	s, mnt := mountT(t, src, Options{RepinRange: safePoint})
	path := filepath.Join(mnt, imageName)

	copyFile, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer copyFile.Close()
	other, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	var copied []byte
	buf := make([]byte, 4096)
	for len(copied) < int(safePoint.Off) { // up to the safe point
		n, err := copyFile.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		copied = append(copied, buf[:n]...)
	}
	// The other handle reads the sectors before the safe point, in order,
	// but not from 0.
	readFileAt(t, other, safePoint.Off-8192, 8192)

	src.publish(2, testImageSize, testInitrdSize)
	s.Notify()

	rest, err := io.ReadAll(copyFile)
	if err != nil {
		t.Fatal(err)
	}
	copied = append(copied, rest...)
	if g := generationsIn(copied, 0); len(g) != 1 || !g[1] {
		t.Errorf("a 4 KiB-block copy saw generations %v, want only 1", fmtGens(g))
	}
	if g := generationsIn(readFileAt(t, other, safePoint.Off, 4096), safePoint.Off); len(g) != 1 || !g[2] {
		t.Errorf("a run of reads from the middle did not move on at the safe point: %v", fmtGens(g))
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
	src.cur.Store(&live.Snapshot{Generation: 1, Image: rec, ImageSize: 8 << 20})
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
