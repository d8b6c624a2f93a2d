package watch

import (
	"bytes"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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
