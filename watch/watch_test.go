package watch

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

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
