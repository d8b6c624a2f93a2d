package watch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"
)

// awaitFull receives batches until a Full one arrives.
func awaitFull(t *testing.T, w *Watcher, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case b, ok := <-w.Batches():
			if !ok {
				t.Fatal("Batches closed while waiting for a Full batch")
			}
			checkBatch(t, b)
			if b.Full {
				return
			}
		case <-deadline:
			t.Fatalf("no Full batch within %v", timeout)
		}
	}
}

func TestOverflowInjected(t *testing.T) {
	root := t.TempDir()
	errs := make(chan error)
	w, logs := start(t, root, fast, hooks{errs: errs})
	errs <- fsnotify.ErrEventOverflow
	awaitFull(t, w, 5*time.Second)
	if !strings.Contains(logs.String(), "overflowed") {
		t.Errorf("overflow not logged:\n%s", logs)
	}
	// Back to ordinary batches afterwards.
	mkfiles(t, root, "after")
	await(t, w, 5*time.Second, true, "after")
}

// A real inotify queue overflow: the watcher is held up while far more
// events than fs.inotify.max_queued_events happen, among them the creation of
// a directory whose event is lost. The Full batch covers the changes, and the
// re-walk after the overflow watches the directory.
func TestOverflowReal(t *testing.T) {
	if testing.Short() {
		t.Skip("writes tens of thousands of files")
	}
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Skip(err)
	}
	var queue int
	fmt.Sscan(string(b), &queue)
	if queue > 40000 {
		t.Skipf("max_queued_events is %d: too many events to make", queue)
	}
	root := t.TempDir()
	stall := make(chan struct{})
	var once sync.Once
	w, logs := start(t, root, fast, hooks{addWatch: func(p string) error {
		if filepath.Base(p) == "stall" {
			once.Do(func() { <-stall })
		}
		return nil
	}})
	if err := os.Mkdir(filepath.Join(root, "stall"), 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the loop is now stuck adding its watch
	// Each create makes IN_CREATE, IN_MODIFY; removing makes IN_DELETE.
	for i := range queue/3 + 1000 {
		p := filepath.Join(root, fmt.Sprintf("n%d", i%1000))
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	mkfiles(t, root, "lost/f")
	close(stall)
	awaitFull(t, w, 10*time.Second)
	if !strings.Contains(logs.String(), "overflowed") {
		t.Errorf("overflow not logged")
	}
	drain(w, 300*time.Millisecond)
	mkfiles(t, root, "lost/g")
	await(t, w, 5*time.Second, true, "lost/g")
}

// waitWatches waits until the process holds want inotify watches.
func waitWatches(t *testing.T, want int) {
	t.Helper()
	var n int
	for range 250 {
		if n = inotifyWatches(t); n == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%d inotify watches, want %d", n, want)
}

// enospcAfter makes watch additions fail like inotify_add_watch does once
// fs.inotify.max_user_watches is used up, after n successful ones, until
// lifted.
type enospcAfter struct {
	mu      sync.Mutex
	n       int
	lifted  bool
	refused int
}

func (e *enospcAfter) add(string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lifted || e.n > 0 {
		e.n--
		return nil
	}
	e.refused++
	return fmt.Errorf("add watch: %w", unix.ENOSPC)
}

func (e *enospcAfter) lift() {
	e.mu.Lock()
	e.lifted = true
	e.mu.Unlock()
}

func TestWatchLimitFallback(t *testing.T) {
	root := t.TempDir()
	for i := range 10 {
		mkfiles(t, root, fmt.Sprintf("d%d/f", i))
	}
	limit := &enospcAfter{n: 4}
	w, logs := start(t, root, fast, hooks{addWatch: limit.add})
	if n := inotifyWatches(t); n != 0 {
		t.Errorf("%d inotify watches held after falling back, want 0", n)
	}
	// Polling: Full batches every PollInterval (200 ms here).
	began := time.Now()
	for range 3 {
		awaitFull(t, w, 5*time.Second)
	}
	if d := time.Since(began); d < 300*time.Millisecond {
		t.Errorf("3 poll batches in %v with a 200ms poll interval", d)
	}
	// Still over the limit: a Rescan tries again, fails, and says nothing new.
	w.Rescan()
	awaitFull(t, w, 5*time.Second)
	log := logs.String()
	if c := strings.Count(log, "level=WARN"); c != 1 {
		t.Errorf("%d warnings, want exactly 1:\n%s", c, log)
	}
	for _, want := range []string{"max_user_watches", "/proc/sys/fs/inotify/max_user_watches", "sysctl", "SIGHUP"} {
		if !strings.Contains(log, want) {
			t.Errorf("warning does not mention %q:\n%s", want, log)
		}
	}

	// The limit raised, a Rescan (SIGHUP) brings inotify back.
	limit.lift()
	w.Rescan()
	awaitFull(t, w, 5*time.Second)
	waitWatches(t, 11)
	if !strings.Contains(logs.String(), "watching rootfs again") {
		t.Errorf("resuming not logged")
	}
	drain(w, 400*time.Millisecond) // no more polling
	mkfiles(t, root, "d3/g")
	bs := await(t, w, 5*time.Second, true, "d3/g")
	if bs[len(bs)-1].Full {
		t.Errorf("still polling after watching again")
	}
}

// Running out of watches while the tree grows, not only at start.
func TestWatchLimitWhileRunning(t *testing.T) {
	root := t.TempDir()
	limit := &enospcAfter{n: 2}
	w, logs := start(t, root, fast, hooks{addWatch: limit.add})
	mkfiles(t, root, "a/f") // the second watch
	await(t, w, 5*time.Second, true, "a")
	mkfiles(t, root, "b/f") // one too many
	awaitFull(t, w, 5*time.Second)
	awaitFull(t, w, 5*time.Second) // and again by polling
	if c := strings.Count(logs.String(), "level=WARN"); c != 1 {
		t.Errorf("%d warnings, want 1:\n%s", c, logs)
	}
	if n := inotifyWatches(t); n != 0 {
		t.Errorf("%d inotify watches held while polling, want 0", n)
	}
}

// The real thing: inotify limits are per user namespace
// (/proc/sys/user/max_inotify_*, which fs.inotify.max_user_* are the initial
// namespace's view of), so a child test process in a fresh user namespace can
// lower them for itself without touching the machine-wide limits.
func TestWatchLimitReal(t *testing.T) {
	if os.Getenv("LIVEISO_WATCH_LIMIT_CHILD") == "1" {
		limitChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchLimitReal$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "LIVEISO_WATCH_LIMIT_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Skipf("cannot start a process in a new user namespace: %v", err)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skipf("child skipped:\n%s", out)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestWatchLimitReal") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func limitChild(t *testing.T) {
	set := func(name, v string) {
		if err := os.WriteFile("/proc/sys/user/"+name, []byte(v), 0); err != nil {
			t.Skipf("cannot lower the namespace's inotify limit: %v", err)
		}
	}
	root := t.TempDir()
	for i := range 20 {
		mkfiles(t, root, fmt.Sprintf("d%02d/f", i))
	}

	set("max_inotify_watches", "5")
	w, logs := start(t, root, fast, hooks{})
	awaitFull(t, w, 5*time.Second)
	awaitFull(t, w, 5*time.Second)
	if n := inotifyWatches(t); n != 0 {
		t.Errorf("%d watches held after falling back", n)
	}
	log := logs.String()
	if strings.Count(log, "level=WARN") != 1 || !strings.Contains(log, "/proc/sys/fs/inotify/max_user_watches") ||
		!strings.Contains(log, "/proc/sys/user/max_inotify_watches, now 5") {
		t.Errorf("want one warning naming max_user_watches and the namespace's limit:\n%s", log)
	}
	t.Logf("watch limit of 5, 21 directories:\n%s", log)
	w.Close()

	set("max_inotify_watches", "100")
	set("max_inotify_instances", "0")
	w, logs = start(t, root, fast, hooks{})
	awaitFull(t, w, 5*time.Second)
	log = logs.String()
	if strings.Count(log, "level=WARN") != 1 || !strings.Contains(log, "max_user_instances") {
		t.Errorf("want one warning naming max_user_instances:\n%s", log)
	}
	t.Logf("instance limit of 0:\n%s", log)

	// Raised again: SIGHUP's Rescan watches again.
	set("max_inotify_instances", "10")
	w.Rescan()
	awaitFull(t, w, 5*time.Second)
	waitWatches(t, 21)
	drain(w, 400*time.Millisecond)
	mkfiles(t, root, "d07/g")
	await(t, w, 5*time.Second, true, "d07/g")
}
