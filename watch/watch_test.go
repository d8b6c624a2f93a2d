package watch

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Fast timings for tests that are about content, not about debouncing.
var fast = Options{Debounce: 40 * time.Millisecond, MaxDelay: time.Second, PollInterval: 200 * time.Millisecond}

// syncBuffer collects log output from the watcher's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// start watches root and closes the watcher when the test ends; the log is
// shown if the test fails.
func start(t *testing.T, root string, opts Options, h hooks) (*Watcher, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	w, err := newWatcher(root, opts, testLogger(logs), h)
	if err != nil {
		t.Fatalf("New(%s): %v", root, err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("watcher log:\n%s", logs)
		}
	})
	return w, logs
}

// covered says whether a change of rel is covered by the batches: a Full
// batch, rel itself, or an ancestor of rel (the packer re-lists rel's parent
// and rescans a changed directory's whole subtree).
func covered(bs []Batch, rel string) bool {
	for _, b := range bs {
		if b.Full {
			return true
		}
		for p := rel; ; p = path.Dir(p) {
			if _, ok := slices.BinarySearch(b.Paths, p); ok {
				return true
			}
			if p == "." {
				break
			}
		}
	}
	return false
}

// listed says whether rel itself is in one of the batches.
func listed(bs []Batch, rel string) bool {
	for _, b := range bs {
		if _, ok := slices.BinarySearch(b.Paths, rel); ok {
			return true
		}
	}
	return false
}

// await receives batches until every path in want is covered (listed, if
// exact), or fails after timeout.
func await(t *testing.T, w *Watcher, timeout time.Duration, exact bool, want ...string) []Batch {
	t.Helper()
	var got []Batch
	deadline := time.After(timeout)
	for {
		var missing []string
		for _, rel := range want {
			if exact && !listed(got, rel) || !exact && !covered(got, rel) {
				missing = append(missing, rel)
			}
		}
		if len(missing) == 0 {
			return got
		}
		select {
		case b, ok := <-w.Batches():
			if !ok {
				t.Fatalf("Batches closed; still missing %q", missing)
			}
			checkBatch(t, b)
			got = append(got, b)
		case <-deadline:
			t.Fatalf("after %v, batches %+v miss %q", timeout, got, missing)
		}
	}
}

// checkBatch checks the Batch invariants.
func checkBatch(t *testing.T, b Batch) {
	t.Helper()
	if b.Full && b.Paths != nil {
		t.Errorf("Full batch with paths %q", b.Paths)
	}
	if !b.Full && len(b.Paths) == 0 {
		t.Errorf("empty batch")
	}
	if !slices.IsSorted(b.Paths) || len(slices.Compact(slices.Clone(b.Paths))) != len(b.Paths) {
		t.Errorf("paths not sorted and unique: %q", b.Paths)
	}
	for _, p := range b.Paths {
		if p != path.Clean(p) || path.IsAbs(p) || strings.HasPrefix(p, "../") || p == ".." {
			t.Errorf("path %q is not clean and rootfs-relative", p)
		}
	}
}

// expectNone fails if a batch arrives within d.
func expectNone(t *testing.T, w *Watcher, d time.Duration) {
	t.Helper()
	select {
	case b := <-w.Batches():
		t.Fatalf("unexpected batch %+v", b)
	case <-time.After(d):
	}
}

// drain takes batches until none came for quiet.
func drain(w *Watcher, quiet time.Duration) {
	for {
		select {
		case <-w.Batches():
		case <-time.After(quiet):
			return
		}
	}
}

// inotifyWatches counts the inotify watches this process holds, as the kernel
// sees them (/proc/self/fdinfo).
func inotifyWatches(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if link, _ := os.Readlink("/proc/self/fd/" + fd.Name()); link != "anon_inode:inotify" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + fd.Name())
		if err != nil {
			continue
		}
		n += strings.Count(string(info), "inotify wd:")
	}
	return n
}

// mkfiles creates files (and their directories) below root.
func mkfiles(t *testing.T, root string, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(rel), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

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

func TestBurstIsOneBatch(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "usr/share/keep")
	w, _ := start(t, root, Options{}, hooks{}) // the default timings are what is tested

	var files []string
	for d := range 20 {
		for f := range 100 {
			dir := "usr/share/pkg" // existing and new directories both
			if d%2 == 1 {
				dir = fmt.Sprintf("usr/lib/pkg%02d", d)
			}
			files = append(files, fmt.Sprintf("%s/%02d-%03d", dir, d, f))
		}
	}
	began := time.Now()
	mkfiles(t, root, files...)
	wrote := time.Since(began)
	bs := await(t, w, 20*time.Second, false, files...)
	drain(w, time.Second)
	t.Logf("2000 files written in %v: %d batches", wrote, len(bs))
	// One batch, or a few when the machine is so loaded that the writes took
	// longer than MaxDelay: never one per file.
	if limit := 3 + int(wrote/DefaultMaxDelay); len(bs) > limit {
		t.Errorf("%d batches for a burst of 2000 files written in %v, want at most %d", len(bs), wrote, limit)
	}
}

// Past the path cap a batch turns Full instead of growing without bound.
func TestManyPathsTurnFull(t *testing.T) {
	root := t.TempDir()
	w, _ := start(t, root, fast, hooks{maxPaths: 100})
	var files []string
	for i := range 150 {
		files = append(files, fmt.Sprintf("f%03d", i))
	}
	mkfiles(t, root, files...)
	bs := await(t, w, 5*time.Second, false, files...)
	if !bs[len(bs)-1].Full {
		t.Errorf("150 paths with a cap of 100 gave %d batches, the last not Full", len(bs))
	}
}

func TestContinuousWritesStillEmit(t *testing.T) {
	root := t.TempDir()
	opts := Options{Debounce: 200 * time.Millisecond, MaxDelay: 500 * time.Millisecond}
	w, _ := start(t, root, opts, hooks{})

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				os.WriteFile(filepath.Join(root, "log"), []byte(fmt.Sprint(i)), 0o644)
			}
		}
	}()
	var during int
	deadline := time.After(3 * time.Second)
loop:
	for {
		select {
		case b := <-w.Batches():
			checkBatch(t, b)
			during++
		case <-deadline:
			break loop
		}
	}
	close(stop)
	<-done
	// A write every 50 ms never leaves the 200 ms of quiet the debounce waits
	// for; only MaxDelay lets batches out: about 6 in 3 s, at least 2 even on
	// a loaded machine.
	if during < 2 {
		t.Errorf("%d batches during 3 s of writes every 50 ms with MaxDelay 500ms, want at least 2", during)
	}
	t.Logf("%d batches during 3 s of continuous writes", during)
	await(t, w, 5*time.Second, true, "log")
}

func TestRescan(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "a/b")
	w, _ := start(t, root, Options{Debounce: time.Minute, MaxDelay: time.Hour}, hooks{})
	w.Rescan()
	w.Rescan() // coalesced
	select {
	case b := <-w.Batches():
		if !b.Full {
			t.Errorf("Rescan gave %+v, want Full", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no batch 5 s after Rescan")
	}
	// Pending changes are folded into the Full batch, not lost behind it.
	mkfiles(t, root, "a/c")
	time.Sleep(100 * time.Millisecond)
	w.Rescan()
	select {
	case b := <-w.Batches():
		if !b.Full {
			t.Errorf("Rescan gave %+v, want Full", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no batch 5 s after Rescan")
	}
}

// A reader that does not keep up gets the changes merged, not lost.
func TestSlowReader(t *testing.T) {
	root := t.TempDir()
	w, _ := start(t, root, fast, hooks{})
	mkfiles(t, root, "one")
	time.Sleep(300 * time.Millisecond) // "one" is due and waits for the reader
	mkfiles(t, root, "two")
	time.Sleep(500 * time.Millisecond)
	bs := await(t, w, 5*time.Second, true, "one", "two")
	if len(bs) != 1 {
		t.Errorf("batches %+v, want both changes in one", bs)
	}
}

func TestClose(t *testing.T) {
	base := runtime.NumGoroutine()
	root := t.TempDir()
	mkfiles(t, root, "a/b/c")
	w, err := New(root, fast, nil)
	if err != nil {
		t.Fatal(err)
	}
	mkfiles(t, root, "a/b/d") // something pending
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range w.Batches() { // must be closed
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	w.Rescan() // harmless after Close
	if n := inotifyWatches(t); n != 0 {
		t.Errorf("%d inotify watches left after Close", n)
	}
	var n int
	for range 100 {
		if n = runtime.NumGoroutine(); n <= base {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Errorf("%d goroutines after Close, %d before New:\n%s", n, base, buf[:runtime.Stack(buf, true)])
}

func TestNewErrors(t *testing.T) {
	root := t.TempDir()
	mkfiles(t, root, "file")
	for _, p := range []string{filepath.Join(root, "missing"), filepath.Join(root, "file")} {
		if w, err := New(p, Options{}, nil); err == nil {
			w.Close()
			t.Errorf("New(%s) succeeded", p)
		}
	}
	// The root itself may be a symlink.
	link := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	w, _ := start(t, link, fast, hooks{})
	mkfiles(t, root, "new")
	await(t, w, 5*time.Second, true, "new")
}

// TestLoneEditSkipsDebounce: with a debounce of a minute, a lone edit on a
// quiet tree is still a batch at once (after Settle), while an edit right
// after it waits for the debounce, as inside a burst.
func TestLoneEditSkipsDebounce(t *testing.T) {
	root := t.TempDir()
	w, _ := start(t, root, Options{Debounce: time.Minute, MaxDelay: time.Hour}, hooks{})
	mkfiles(t, root, "etc/hostname")
	select {
	case b := <-w.Batches():
		if !slices.Contains(b.Paths, "etc/hostname") && !slices.Contains(b.Paths, "etc") {
			t.Errorf("lone edit: batch %+v, want etc/hostname", b)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a lone edit waited for the one-minute debounce")
	}
	mkfiles(t, root, "etc/hosts")
	select {
	case b := <-w.Batches():
		t.Errorf("an edit right after another came out as %+v before the debounce", b)
	case <-time.After(300 * time.Millisecond):
	}
}
