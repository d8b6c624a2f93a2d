package vfs

// Which generation a reader gets: the consistency promises of package vfs.

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A sequential copy started before a swap gets exactly the generation it
// started with; an open after the swap gets the new one.
func TestHandleKeepsItsGeneration(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(1, testImageSize, testInitrdSize)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
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
			_, mnt := mountT(t, src, Options{RepinRange: tc.repin})
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

func TestInitrdFollowsGeneration(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(1, testImageSize, testInitrdSize)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
	path := filepath.Join(mnt, initrdName)

	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	for gen, size := range map[uint64]int64{2: testInitrdSize + 4097, 3: 100, 4: 0, 5: 3 << 20} {
		src.publish(gen, testImageSize, size)
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

// Readers open, read and close in a loop while generations are swapped in
// under them. Each sequential pass over image.iso and each read of
// initrd.img sees exactly one generation, never an older one than the
// newest published before it opened. Run it with -race.
func TestConcurrentReadersAndSwaps(t *testing.T) {
	const imageSize = 512<<10 + 24
	src := newFakeSource(1 << 20)
	src.publish(1, imageSize, 3000)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})

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
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
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
