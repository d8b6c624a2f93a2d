package vfs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A loop device attached to image.iso reads the same bytes as the file, and
// this is what it takes for a reader of the loop device to see a new
// generation (the README documents it):
//
//   - The loop device holds image.iso open, so like any open handle it keeps
//     its generation until it reads the volume descriptors again: a reader
//     that starts over at the beginning (a mount, blkid, dd from 0) moves it
//     on; one that reads only the middle gets the old generation.
//   - The loop device's own page cache (of /dev/loopN, not of image.iso) is
//     dropped when the last opener of /dev/loopN closes it, so `dd
//     if=/dev/loopN` run alone sees the new generation. While something
//     holds /dev/loopN open (a mount, a VM, a long-lived reader), buffered
//     readers get old blocks, and after partial eviction a mix of two
//     generations: run `blockdev --flushbufs /dev/loopN` after each new
//     generation (status.json), or read with O_DIRECT from the start.
//   - `losetup -c` only re-reads the size; it changes neither of the above.
func TestLoopDevice(t *testing.T) {
	requireFUSE(t)
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Fatalf("no loop devices: %v", err)
	}
	const imageSize, capacity = 3<<20 + 4096, 4 << 20
	src := newFakeSource(capacity)
	src.publish(1, imageSize, 10)
	_, mnt := mountT(t, src, Options{RepinRange: safePoint})
	image := filepath.Join(mnt, imageName)

	out, err := exec.Command("losetup", "-r", "-f", "--show", image).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup -r -f --show %s: %v: %s", image, err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", dev, err, out)
		}
	})
	t.Logf("attached %s", dev)

	// dd reads the device; iflag=direct bypasses its page cache.
	dd := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("dd", append([]string{"if=" + dev, "bs=1M", "status=none"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
		}
		return b
	}
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	gensOf := func(b []byte, off int64) string { return fmtGens(generationsIn(b, off)) }

	file, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	if got := dd(); !bytes.Equal(got, file) {
		t.Fatalf("%s (%d bytes) differs from image.iso (%d bytes) at %d", dev, len(got), len(file), firstDiff(got, file))
	}

	// Nobody holds the device open: its page cache went with the last
	// close, but the loop device's handle on image.iso is still pinned.
	src.publish(2, imageSize, 10)
	check := func(what string, got []byte, off int64, want string) {
		t.Helper()
		if g := gensOf(got, off); g != want {
			t.Errorf("%s: generations %s, want %s", what, g, want)
		} else {
			t.Logf("%s: generation %s", what, g)
		}
	}
	check("gen 2 published; dd skip=1 count=1 (MiB 1, no safe point)", dd("skip=1", "count=1"), 1<<20, "{ 1 }")
	check("dd from the start", dd(), 0, "{ 2 }")
	check("dd skip=1 count=1 again", dd("skip=1", "count=1"), 1<<20, "{ 2 }")

	// Someone holds the device open (a mount, a VM, a long-lived reader):
	// its page cache stays.
	holder, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ReadAt(make([]byte, capacity), 0); err != nil {
		t.Fatal(err)
	}
	src.publish(3, imageSize, 10)
	check("gen 3 published, device held open; dd from the start", dd(), 0, "{ 2 }")
	check("dd iflag=direct from the start", dd("iflag=direct"), 0, "{ 3 }")
	// What is left of the page cache need not even be one generation: one
	// run saw generations 2 and 3 here (some cached pages were dropped), and
	// memory pressure would do the same. Only logged.
	t.Logf("dd (buffered) again: generations %s", gensOf(dd(), 0))
	run("losetup", "-c", dev)
	t.Logf("losetup -c; dd: generations %s", gensOf(dd(), 0))
	run("blockdev", "--flushbufs", dev)
	if got := dd(); !bytes.Equal(got, imageBytes(3, imageSize, 0, capacity)) {
		t.Errorf("blockdev --flushbufs; dd: not generation 3 (generations %s)", gensOf(got, 0))
	} else {
		t.Logf("blockdev --flushbufs; dd: generation 3, byte for byte")
	}
}
