package cache

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSynthetic(t *testing.T) {
	needRoot(t)
	needTool(t, "cpio", "gzip")
	root := t.TempDir() + "/rootfs"
	writeFile(t, root+"/etc/hostname", []byte("box\n"), 0o644, time.Unix(1600000000, 0))
	os.Chown(root+"/etc/hostname", 1000, 1000)

	r := pack(t, newPacker(t, Options{RootOwner: true}), root, nil)
	st := r.Stats()
	if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "/sbin/init") {
		t.Errorf("warnings %q, want one about /init and /sbin/init", st.Warnings)
	}
	dst := t.TempDir()
	extract(t, initrdBytes(t, r), []string{"gzip", "-dc"}, dst)
	if b, err := os.ReadFile(dst + "/init"); err != nil || string(b) != autoInit {
		t.Errorf("/init: %q, %v", b, err)
	}
	var s unix.Stat_t
	if err := unix.Lstat(dst+"/init", &s); err != nil || s.Mode != unix.S_IFREG|0o755 {
		t.Errorf("/init mode %#o %v", s.Mode, err)
	}
	if err := unix.Lstat(dst+"/dev/console", &s); err != nil || s.Mode != unix.S_IFCHR|0o600 ||
		unix.Major(s.Rdev) != 5 || unix.Minor(s.Rdev) != 1 || s.Uid != 0 {
		t.Errorf("/dev/console: %+v %v", s, err)
	}
	if err := unix.Lstat(dst+"/etc/hostname", &s); err != nil || s.Uid != 0 || s.Gid != 0 {
		t.Errorf("RootOwner: /etc/hostname owned by %d:%d", s.Uid, s.Gid)
	}

	// NoAutoInit, and a rootfs with /sbin/init: no /init, no warning.
	writeFile(t, root+"/sbin/init", []byte("#!/bin/sh\n"), 0o755, time.Time{})
	r = pack(t, newPacker(t, Options{NoAutoInit: true}), root, nil)
	if w := r.Stats().Warnings; len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
	entries := readArchive(t, initrdBytes(t, r), []string{"gzip", "-dc"})
	if _, ok := entries["init"]; ok {
		t.Error("NoAutoInit: /init synthesised")
	}
	if _, ok := entries["dev/console"]; !ok {
		t.Error("no /dev/console")
	}
}

func TestExcludes(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 20)
	writeFile(t, root+"/lib/x.pyc", []byte("bytecode"), 0o644, time.Time{})
	writeFile(t, root+"/var/cache/apt/pkgcache.bin", []byte("cache"), 0o644, time.Time{})
	r := pack(t, newPacker(t, Options{Excludes: []string{"*.pyc", "/var/cache/apt/*"}}), root, nil)
	entries := readArchive(t, initrdBytes(t, r), []string{"gzip", "-dc"})
	for _, p := range []string{"lib/x.pyc", "var/cache/apt/pkgcache.bin"} {
		if _, ok := entries[p]; ok {
			t.Errorf("%s not excluded", p)
		}
	}
	if _, ok := entries["var/cache/apt"]; !ok {
		t.Error("var/cache/apt itself excluded")
	}
}

// TestRacy: a file changed within the racy window of a Pack is not trusted by
// its stat: its chunk is cached nowhere, and the next Pack re-reads it (and
// uses the member if the bytes are the same) until the file is old enough.
func TestRacy(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 200)
	p := newPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: t.TempDir()})
	// ctime cannot be set: let the tree age past a shortened window.
	const window = 300 * time.Millisecond
	time.Sleep(window + 50*time.Millisecond)
	p.racy = window
	pack(t, p, root, nil)
	edit := root + "/d05/file00005"
	writeFile(t, edit, []byte("v2"), 0o644, time.Unix(1600000000, 0))
	st := pack(t, p, root, []string{"d05/file00005"}).Stats()
	if st.ChunksRebuilt != 1 || st.ChunksRacy != 1 {
		t.Fatalf("edit: %d chunks rebuilt, %d racy, want 1 and 1", st.ChunksRebuilt, st.ChunksRacy)
	}
	// The same content and stat, but the file is still young: re-read, not
	// compressed, still racy.
	if st := pack(t, p, root, []string{}).Stats(); st.ChunksRebuilt != 0 || st.ChunksReread != 1 || st.ChunksRacy != 1 {
		t.Errorf("young file: %d rebuilt, %d re-read, %d racy, want 0, 1, 1", st.ChunksRebuilt, st.ChunksReread, st.ChunksRacy)
	}
	// A restart does not find it in the store.
	q := newPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: p.opts.CacheDir})
	q.racy = window
	if got := pack(t, q, root, nil).Stats().ChunksRebuilt; got != 1 {
		t.Errorf("restart with a young file: %d chunks rebuilt, want 1", got)
	}
	// Once it is old enough, the next Pack re-reads it and caches it.
	time.Sleep(window)
	if st := pack(t, p, root, []string{}).Stats(); st.ChunksRebuilt != 0 || st.ChunksReread != 1 || st.ChunksRacy != 0 {
		t.Errorf("file just old enough: %d rebuilt, %d re-read, %d racy, want 0, 1, 0", st.ChunksRebuilt, st.ChunksReread, st.ChunksRacy)
	}
	if st := pack(t, p, root, []string{}).Stats(); st.ChunksRebuilt != 0 || st.ChunksReread != 0 {
		t.Errorf("old file: %d rebuilt, %d re-read, want 0", st.ChunksRebuilt, st.ChunksReread)
	}
	r := newPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: p.opts.CacheDir})
	if got := pack(t, r, root, nil).Stats().ChunksRebuilt; got != 0 {
		t.Errorf("restart after the file was cached: %d chunks rebuilt, want 0", got)
	}
}

// Options.RacyWindow reaches the Packer: a tree written just before is all
// racy under a long window and not racy at all under a nanosecond one,
// with no wait; 0 is the default window, a negative one an error.
func TestRacyWindowOption(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 50)
	for _, c := range []struct {
		window time.Duration
		racy   bool
	}{{time.Hour, true}, {time.Nanosecond, false}} {
		p, err := NewPacker(Options{ChunkTargetBytes: 16 << 10, RacyWindow: c.window}, nil)
		if err != nil {
			t.Fatal(err)
		}
		st := pack(t, p, root, nil).Stats()
		if racy := st.ChunksRacy == st.ChunksTotal && st.ChunksTotal > 0; racy != c.racy || (!c.racy && st.ChunksRacy != 0) {
			t.Errorf("window %v: %d of %d chunks racy, want all racy %v", c.window, st.ChunksRacy, st.ChunksTotal, c.racy)
		}
		p.Close()
	}
	if o, err := (Options{}).resolved(); err != nil || o.RacyWindow != DefaultRacyWindow {
		t.Errorf("zero RacyWindow resolves to %v, %v; want %v", o.RacyWindow, err, DefaultRacyWindow)
	}
	if _, err := (Options{RacyWindow: -time.Second}).resolved(); !errors.Is(err, ErrBadOption) {
		t.Errorf("negative RacyWindow: %v, want ErrBadOption", err)
	}
}
