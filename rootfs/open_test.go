package rootfs

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpen(t *testing.T) {
	root := t.TempDir()
	build(t, root, "d a\nf a/file inside\nf b other\nl lnk a/file\np fifo")
	tr := scan(t, root)
	f, err := tr.Open(entry(t, tr, "a/file"))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(f)
	f.Close()
	if string(data) != "inside" {
		t.Errorf("read %q", data)
	}
	for _, p := range []string{"lnk", "fifo", "a", "."} {
		if _, err := tr.Open(entry(t, tr, p)); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Open(%s) = %v, want ErrNotRegular", p, err)
		}
	}

	// Replaced file, a symlink where a directory was, a vanished file, a
	// FIFO swapped in (must not block): ErrChanged naming the path.
	os.Rename(filepath.Join(root, "b"), filepath.Join(root, "b.old")) // keeps the inode number from reuse
	os.WriteFile(filepath.Join(root, "b"), []byte("new"), 0o644)
	outside := t.TempDir()
	build(t, outside, "f file outside")
	os.Rename(filepath.Join(root, "a"), filepath.Join(root, "a.old"))
	os.Symlink(outside, filepath.Join(root, "a"))
	for _, p := range []string{"b", "a/file"} {
		if _, err := tr.Open(entry(t, tr, p)); !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), filepath.Join(root, p)) {
			t.Errorf("Open(%s) = %v, want ErrChanged naming the path", p, err)
		}
	}
	os.Remove(filepath.Join(root, "a"))
	os.Mkdir(filepath.Join(root, "a"), 0o755)
	unix.Mkfifo(filepath.Join(root, "a/file"), 0o644)
	if _, err := tr.Open(entry(t, tr, "a/file")); !errors.Is(err, ErrChanged) {
		t.Errorf("Open of a FIFO swapped in = %v, want ErrChanged", err)
	}
	os.Remove(filepath.Join(root, "a/file"))
	if _, err := tr.Open(entry(t, tr, "a/file")); !errors.Is(err, ErrChanged) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a vanished file = %v", err)
	}

	// The root itself replaced.
	os.Rename(root, root+".old")
	os.Mkdir(root, 0o755)
	t.Cleanup(func() { os.RemoveAll(root + ".old") })
	if _, err := tr.Open(entry(t, tr, "b")); !errors.Is(err, ErrChanged) {
		t.Errorf("Open after the root was replaced = %v", err)
	}
}

// TestSwapRace swaps a directory of the rootfs with a symlink to a
// directory outside while Scan, Rescan and Open run, and checks that nothing
// outside is ever listed or opened: every result is correct or an error.
func TestSwapRace(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	build(t, outside, "f file OUTSIDE\nd sub\nf sub/x OUTSIDE")
	build(t, root, "d d\nf d/file inside\nd d/sub\nf d/sub/x inside\nl swap "+outside)
	var outIno = map[uint64]bool{}
	filepath.Walk(outside, func(p string, fi os.FileInfo, err error) error {
		var st unix.Stat_t
		unix.Lstat(p, &st)
		outIno[st.Ino] = true
		return nil
	})
	good := scan(t, root)
	d, swap := filepath.Join(root, "d"), filepath.Join(root, "swap")

	var stop atomic.Bool
	var wg sync.WaitGroup
	var swaps atomic.Int64
	wg.Add(1)
	go func() { // d and swap exchange places: d is a directory, then a symlink to outside
		defer wg.Done()
		for !stop.Load() {
			if err := unix.Renameat2(unix.AT_FDCWD, d, unix.AT_FDCWD, swap, unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("swap: %v", err)
				return
			}
			swaps.Add(1)
		}
	}()
	var scans, errs, opens int
	for i := 0; i < 300; i++ {
		tr, err := Scan(context.Background(), root, Options{})
		if err == nil {
			tr, err = Rescan(context.Background(), tr, []string{"d/sub/x", "swap"}, Options{})
		}
		if err != nil {
			if !errors.Is(err, ErrChanged) {
				t.Fatalf("scan error not wrapping ErrChanged: %v", err)
			}
			errs++
		} else {
			scans++
			for _, e := range tr.Entries() {
				if outIno[e.Ino] && e.Mode&unix.S_IFMT != unix.S_IFLNK {
					t.Fatalf("scan reached outside: %+v", e)
				}
			}
		}
		for _, p := range []string{"d/file", "d/sub/x"} {
			f, err := good.Open(entry(t, good, p))
			if err != nil {
				if !errors.Is(err, ErrChanged) {
					t.Fatalf("open error not wrapping ErrChanged: %v", err)
				}
				continue
			}
			b, _ := io.ReadAll(f)
			f.Close()
			if string(b) != "inside" {
				t.Fatalf("Open(%s) read %q", p, b)
			}
			opens++
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d swaps; %d scans complete, %d reported a change; %d opens succeeded", swaps.Load(), scans, errs, opens)
	if swaps.Load() < 100 {
		t.Errorf("only %d swaps: the race was not exercised", swaps.Load())
	}
}
