package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/liveiso/liveiso/live"
)

// freshCopy makes a fixture whose rootfs has a few megabytes more (so that
// it packs into many chunks) and is copied with cp -a, as a user copies a
// tree just before liveiso mount: every file's ctime is now.
func freshCopy(t *testing.T, marker string) fixture {
	t.Helper()
	if _, err := liveisoBin(); err != nil { // before the copy, which must be fresh when liveiso starts
		t.Fatalf("build liveiso: %v", err)
	}
	fx := newFixture(t, marker)
	for i := range 240 {
		dir := filepath.Join(fx.rootfs, "usr/share/settle", fmt.Sprintf("d%02d", i%12))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 24<<10)
		for j := range b {
			b[j] = byte((i*131 + j*j) % 253)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copied := filepath.Join(t.TempDir(), "rootfs")
	if out, err := exec.Command("cp", "-a", fx.rootfs, copied).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	fx.rootfs = copied
	return fx
}

// logCounts sums a key=value field over the log lines with message msg.
func logCounts(t *testing.T, logPath, msg, key string) (lines, sum int) {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^.*msg="` + regexp.QuoteMeta(msg) + `".*$`)
	field := regexp.MustCompile(`\b` + regexp.QuoteMeta(key) + `=(\d+)`)
	for _, l := range line.FindAllString(string(b), -1) {
		lines++
		if m := field.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			sum += n
		}
	}
	return lines, sum
}

// A tree copied with cp -a just before liveiso mount: its chunks are racy
// at first (cached nowhere), the idle daemon settles them without
// compressing anything, and a one-file edit 3 s after the copy rebuilds
// exactly one chunk (issue 19).
func TestSettleFirstEditAfterCopy(t *testing.T) {
	fx := freshCopy(t, "settle first edit")
	copied := time.Now()
	m := startMount(t, fx, "", "", "", "--compression", "gzip") // small chunks: many of them
	first, _ := m.status()
	if first.ChunksTotal < 4 || first.ChunksRacy < 2 {
		t.Fatalf("first generation of a fresh copy: %d of %d chunks racy, want several; was the mount %v late?",
			first.ChunksRacy, first.ChunksTotal, time.Since(copied))
	}
	m.waitFor(t, "the racy chunks to settle", time.Minute, func(s live.Status) bool { return s.ChunksRacy == 0 })
	if s, _ := m.status(); s.Generation != first.Generation {
		t.Fatalf("settling published generation %d (first was %d)", s.Generation, first.Generation)
	}
	time.Sleep(time.Until(copied.Add(3 * time.Second)))

	if err := os.WriteFile(filepath.Join(fx.rootfs, "etc/marker"), []byte("edited after the copy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := m.waitNext(t, first.Generation)
	if s.ChunksRebuilt != 1 {
		t.Errorf("the first edit after the copy rebuilt %d of %d chunks, want 1", s.ChunksRebuilt, s.ChunksTotal)
	}
	// Compressions, as the packer logs them: the first generation's and the
	// edit's chunk, none for settling.
	packs, compressed := logCounts(t, m.logPath, "packed initrd", "chunks_rebuilt")
	if packs != 2 || compressed != first.ChunksRebuilt+1 {
		t.Errorf("%d Packs compressed %d chunks in all, want 2 Packs and %d (the first generation's %d, then 1)",
			packs, compressed, first.ChunksRebuilt+1, first.ChunksRebuilt)
	}
	if _, settled := logCounts(t, m.logPath, "settled racy chunks", "chunks_settled"); settled != first.ChunksRacy {
		t.Errorf("%d chunks settled, want the first generation's %d racy ones", settled, first.ChunksRacy)
	}
}

// liveiso build of a fresh tree leaves its chunks in the disk cache (it
// settles them while it writes the image), so a liveiso mount of the same
// tree right after compresses nothing.
func TestSettleBuildThenMount(t *testing.T) {
	fx := freshCopy(t, "settle build then mount")
	cacheDir := filepath.Join(t.TempDir(), "cache")
	start := time.Now()
	args := append([]string{"build", "-o", filepath.Join(t.TempDir(), "image.iso")}, fx.imageArgs(t, "")...)
	stdout, stderr, err := liveiso(t, append(args, "--cache-dir", cacheDir, "--compression", "gzip")...)
	if err != nil {
		t.Fatalf("liveiso build: %v\n%s%s", err, stdout, stderr)
	}
	t.Logf("liveiso build of the fresh copy took %v: %s", time.Since(start), stdout)
	logPath := filepath.Join(t.TempDir(), "build.log")
	if err := os.WriteFile(logPath, []byte(stderr), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, settled := logCounts(t, logPath, "settled racy chunks", "chunks_settled"); settled == 0 {
		t.Fatalf("liveiso build settled no chunks; was it %v late for the racy window?\n%s", time.Since(start), stderr)
	}
	m := startMount(t, fx, "", "", cacheDir, "--compression", "gzip")
	s, _ := m.status()
	if s.ChunksRebuilt != 0 || s.ChunksRacy != 0 {
		t.Errorf("first generation after liveiso build: %d of %d chunks compressed, %d racy, want none",
			s.ChunksRebuilt, s.ChunksTotal, s.ChunksRacy)
	}
}
