package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCreateWriteRemoveChmod(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "etc/passwd")
	w, _ := start(t, root, fast, hooks{})

	mkfiles(t, root, "etc/marker")
	await(t, w, 5*time.Second, true, "etc/marker")

	f, err := os.OpenFile(filepath.Join(root, "etc/passwd"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("x\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	await(t, w, 5*time.Second, true, "etc/passwd")

	if err := os.Chmod(filepath.Join(root, "etc/passwd"), 0o600); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, "etc/passwd")

	if err := os.Chmod(root, 0o700); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, ".")

	if err := os.Remove(filepath.Join(root, "etc/marker")); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, "etc/marker")
}

func TestRename(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "a/x", "b/keep")
	w, _ := start(t, root, fast, hooks{})

	if err := os.Rename(filepath.Join(root, "a/x"), filepath.Join(root, "a/y")); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, "a/x", "a/y")

	if err := os.Rename(filepath.Join(root, "a/y"), filepath.Join(root, "b/y")); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, "a/y", "b/y")

	// Out of the root and back in.
	outside := t.TempDir()
	if err := os.Rename(filepath.Join(root, "b/y"), filepath.Join(outside, "y")); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, "b/y")
	if err := os.Rename(filepath.Join(outside, "y"), filepath.Join(root, "y")); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, "y")
}

// A renamed directory keeps its inotify watches in the kernel, under its old
// name in fsnotify's books: the watcher must drop them and watch the new name,
// or later changes inside would be reported under the old path.
func TestRenameDirectory(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "usr/lib/mod/a.ko", "usr/share/doc/x")
	w, _ := start(t, root, fast, hooks{})
	before := inotifyWatches(t)

	if err := os.Rename(filepath.Join(root, "usr/lib"), filepath.Join(root, "usr/lib64")); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, "usr/lib", "usr/lib64")
	drain(w, 200*time.Millisecond)

	mkfiles(t, root, "usr/lib64/mod/b.ko")
	bs := await(t, w, 5*time.Second, true, "usr/lib64/mod/b.ko")
	for _, b := range bs {
		for _, p := range b.Paths {
			if strings.HasPrefix(p, "usr/lib/") {
				t.Errorf("change reported under the old name: %q", p)
			}
		}
	}
	if after := inotifyWatches(t); after != before {
		t.Errorf("inotify watches: %d before the rename, %d after; want equal", before, after)
	}

	// Moved out of the root: its watches go, and changes in it are not ours.
	outside := t.TempDir()
	if err := os.Rename(filepath.Join(root, "usr/lib64"), filepath.Join(outside, "lib64")); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, "usr/lib64")
	drain(w, 200*time.Millisecond)
	if after := inotifyWatches(t); after != before-2 {
		t.Errorf("inotify watches after moving out a directory with one subdirectory: %d, want %d", after, before-2)
	}
	mkfiles(t, outside, "lib64/mod/c.ko")
	expectNone(t, w, 500*time.Millisecond)
}

func TestNewDirectoryWithFiles(t *testing.T) {
	root := t.TempDir()
	w, _ := start(t, root, fast, hooks{})

	// The files land before the watcher can add the directory's watch: they
	// are covered by the directory itself being in the batch.
	var files []string
	for i := range 50 {
		files = append(files, fmt.Sprintf("opt/pkg/f%02d", i))
	}
	mkfiles(t, root, files...)
	bs := await(t, w, 5*time.Second, true, "opt")
	for _, f := range files {
		if !covered(bs, f) {
			t.Errorf("%s not covered by %+v", f, bs)
		}
	}
	drain(w, 200*time.Millisecond)

	// And the new directories are watched now.
	mkfiles(t, root, "opt/pkg/late")
	await(t, w, 5*time.Second, true, "opt/pkg/late")
}

func TestDeepSubtree(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "keep")
	w, _ := start(t, root, fast, hooks{})
	before := inotifyWatches(t)

	mkfiles(t, root, "a/b/c/d/f1", "a/b/c/d/f2", "a/b/c/f3", "a/b/e/f4")
	bs := await(t, w, 5*time.Second, false, "a/b/c/d/f1", "a/b/c/d/f2", "a/b/c/f3", "a/b/e/f4")
	if !listed(bs, "a") {
		t.Errorf("new directory a not listed in %+v", bs)
	}
	drain(w, 200*time.Millisecond)
	if got := inotifyWatches(t); got != before+5 {
		t.Errorf("inotify watches = %d after adding 5 directories to %d, want %d", got, before, before+5)
	}
	mkfiles(t, root, "a/b/c/d/late")
	await(t, w, 5*time.Second, true, "a/b/c/d/late")
}

func TestRemoveSubtree(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "var/lib/apt/lists/a", "var/lib/dpkg/status", "var/log/x", "etc/hostname")
	w, _ := start(t, root, fast, hooks{})
	before := inotifyWatches(t)

	if err := os.RemoveAll(filepath.Join(root, "var/lib")); err != nil {
		t.Fatal(err)
	}
	bs := await(t, w, 5*time.Second, true, "var/lib")
	for _, rel := range []string{"var/lib/apt/lists/a", "var/lib/dpkg/status"} {
		if !covered(bs, rel) {
			t.Errorf("%s not covered", rel)
		}
	}
	drain(w, 200*time.Millisecond)
	if got := inotifyWatches(t); got != before-4 {
		t.Errorf("inotify watches = %d after removing 4 of %d directories, want %d", got, before, before-4)
	}
	mkfiles(t, root, "var/log/y")
	await(t, w, 5*time.Second, true, "var/log/y")
}

func TestSymlinkNotFollowed(t *testing.T) {
	outside := t.TempDir()
	mkfiles(t, outside, "secret/shadow")
	root := t.TempDir()
	mkfiles(t, root, "etc/hostname")
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "etc/secret")); err != nil {
		t.Fatal(err)
	}
	w, _ := start(t, root, fast, hooks{})
	if got := inotifyWatches(t); got != 2 {
		t.Errorf("inotify watches = %d, want 2 (root and etc)", got)
	}

	mkfiles(t, outside, "secret/new", "x")
	expectNone(t, w, 500*time.Millisecond)

	// A symlink made while watching is reported as itself, and not entered.
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "late")); err != nil {
		t.Fatal(err)
	}
	await(t, w, 5*time.Second, true, "late")
	drain(w, 200*time.Millisecond)
	mkfiles(t, outside, "secret/newer")
	expectNone(t, w, 500*time.Millisecond)
	if got := inotifyWatches(t); got != 2 {
		t.Errorf("inotify watches = %d, want 2 (root and etc)", got)
	}
}

// The symlink-free identity check: a directory reached through a symlink in
// any component of its path is refused before a watch is added.
func TestWatchOneRefusesSymlinkedPath(t *testing.T) {
	outside := t.TempDir()
	mkfiles(t, outside, "sub/f")
	root := t.TempDir()
	mkfiles(t, root, "real/f")
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	d := dirs{root: root, rootFD: fd, nodes: make(map[string]*dirNode)}
	var added []string
	add := func(p string) error { added = append(added, p); return nil }
	for _, rel := range []string{"link", "link/sub", "real/../link/sub", "../" + filepath.Base(outside)} {
		if _, err := d.watchOne(rel, add, func(string) {}); err == nil {
			t.Errorf("watchOne(%s) succeeded", rel)
		}
	}
	if len(added) != 0 {
		t.Errorf("watches added through a symlink or outside the root: %q", added)
	}
	subdirs, err := d.watchOne(".", add, func(string) {})
	if err != nil || !slices.Equal(subdirs, []string{"real"}) || !slices.Equal(added, []string{root}) {
		t.Errorf("watchOne(.) = %q, %v, added %q; want [real], nil, [%s]", subdirs, err, added, root)
	}
}
