package vfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// ukiPattern is generation gen's uki.efi: its own tag (1<<41), so that a
// read tells it from the initrd and from other generations.
func ukiPattern(gen uint64, size int64) pattern { return pattern{tag: gen<<48 | 1<<41, size: size} }

func publishWithUKI(src *fakeSource, gen uint64, ukiSize int64) {
	snap := src.snapshot(gen, testImageSize, testInitrdSize)
	snap.UKI, snap.UKISize = ukiPattern(gen, ukiSize), ukiSize
	src.store(snap)
}

// uki.efi is there when the snapshots have a UKI; an open handle keeps its
// generation's bytes and size while newer ones are published, and a new
// open gets the newest.
func TestUKIFollowsGeneration(t *testing.T) {
	src := newFakeSource(testCapacity)
	publishWithUKI(src, 1, 3<<20+100)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
	path := filepath.Join(mnt, ukiName)

	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	half := readFileAt(t, old, 0, 1<<20)
	publishWithUKI(src, 2, 2<<20+4)

	rest := readFileAt(t, old, 1<<20, 2<<20+100)
	want := make([]byte, 3<<20+100)
	if _, err := ukiPattern(1, int64(len(want))).ReadAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if got := append(half, rest...); !bytes.Equal(got, want) {
		t.Errorf("a handle opened on generation 1 read other bytes from %d", firstDiff(got, want))
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want = make([]byte, 2<<20+4)
	if _, err := ukiPattern(2, int64(len(want))).ReadAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("a new open read %d bytes, not generation 2's %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
	}
}

// Without a UKI there is no uki.efi.
func TestNoUKINoFile(t *testing.T) {
	src := newFakeSource(testCapacity)
	src.publish(1, testImageSize, testInitrdSize)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
	if _, err := os.Stat(filepath.Join(mnt, ukiName)); !os.IsNotExist(err) {
		t.Errorf("stat uki.efi without a UKI: %v, want not found", err)
	}
}
