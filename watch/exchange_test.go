package watch

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// renameat2(RENAME_EXCHANGE) swaps two directories in one step. Its events
// (MOVED_FROM a, MOVED_TO b, MOVED_FROM b, MOVED_TO a) arrive after both
// names already hold their new directories: the MOVED_FROM of b must not
// drop the watch just put on the directory now at b.
func TestExchangeDirectories(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "etc/a/sub/x", "etc/b/sub/y")
	w, _ := start(t, root, fast, hooks{})
	before := inotifyWatches(t)

	if err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(root, "etc/a"), unix.AT_FDCWD, filepath.Join(root, "etc/b"), unix.RENAME_EXCHANGE); err != nil {
		t.Skipf("renameat2(RENAME_EXCHANGE): %v", err)
	}
	await(t, w, 5*time.Second, true, "etc/a", "etc/b")
	drain(w, 200*time.Millisecond)

	mkfiles(t, root, "etc/a/new", "etc/b/new", "etc/a/sub/new", "etc/b/sub/new")
	await(t, w, 5*time.Second, true, "etc/a/new", "etc/b/new", "etc/a/sub/new", "etc/b/sub/new")
	if after := inotifyWatches(t); after != before {
		t.Errorf("inotify watches: %d before the exchange, %d after; want equal", before, after)
	}
}

// A directory renamed away and straight back keeps being watched, although
// its MOVED_FROM is read when it stands under its old name again.
func TestRenameAwayAndBack(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "etc/a/sub/x")
	w, _ := start(t, root, fast, hooks{})
	before := inotifyWatches(t)

	a, b := filepath.Join(root, "etc/a"), filepath.Join(root, "etc/b")
	if err := unix.Rename(a, b); err != nil {
		t.Fatal(err)
	}
	if err := unix.Rename(b, a); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, "etc/a", "etc/b")
	drain(w, 200*time.Millisecond)

	mkfiles(t, root, "etc/a/new", "etc/a/sub/new")
	await(t, w, 5*time.Second, true, "etc/a/new", "etc/a/sub/new")
	if after := inotifyWatches(t); after != before {
		t.Errorf("inotify watches: %d before, %d after; want equal", before, after)
	}
}
