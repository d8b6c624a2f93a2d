package vfs

import (
	"os"
	"path/filepath"
	"testing"
)

// Without a RepinRange (as liveiso mounts), an open image.iso keeps its
// generation whatever it reads, sector 0 and the volume descriptors
// included, until MoveOn names the process that opened it; MoveOn of
// another process moves nothing; the old generation is let go of once.
func TestMoveOn(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(1, testImageSize, testInitrdSize)
	s, mnt := mountT(t, src, Options{})
	f, err := os.Open(filepath.Join(mnt, imageName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	genAt := func(off int64, n int) uint64 {
		t.Helper()
		gens := generationsIn(readFileAt(t, f, off, n), off)
		if len(gens) != 1 {
			t.Fatalf("read at %d: generations %v, want exactly one", off, gens)
		}
		for g := range gens {
			return g
		}
		return 0
	}

	src.publish(2, testImageSize+4096, testInitrdSize+8)
	// What a running guest reads: the volume descriptors, sector 0, a
	// copy from 0 in small blocks, the volume descriptors again.
	for _, r := range []struct {
		off int64
		n   int
	}{{16 * testSectorSize, testSectorSize}, {17 * testSectorSize, testSectorSize}, {0, 512},
		{0, 4096}, {4096, 4096}, {8192, 64 << 10}, {16 * testSectorSize, 2 * testSectorSize}, {1 << 20, 4096}} {
		if g := genAt(r.off, r.n); g != 1 {
			t.Fatalf("read of %d bytes at %d: generation %d, want the one opened, 1", r.n, r.off, g)
		}
	}
	if n := s.MoveOn(os.Getpid() + 1_000_000); n != 0 {
		t.Errorf("MoveOn of another process moved %d handles", n)
	}
	if g := genAt(16*testSectorSize, testSectorSize); g != 1 {
		t.Fatalf("after MoveOn of another process: generation %d", g)
	}
	if n := s.MoveOn(os.Getpid()); n != 1 {
		t.Errorf("MoveOn of this process moved %d handles, want 1", n)
	}
	if g := genAt(1<<20, 4096); g != 2 {
		t.Errorf("after MoveOn: generation %d, want 2", g)
	}
	if n := s.MoveOn(os.Getpid()); n != 0 {
		t.Errorf("a second MoveOn on the newest moved %d handles", n)
	}
	if c := src.hold(1).Released(); c != 1 {
		t.Errorf("generation 1 closed %d times after its only handle moved on, want 1", c)
	}
}
