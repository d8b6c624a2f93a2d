package vfs

import (
	"sync"
	"testing"
	"time"
)

// Unmount is safe for concurrent calls (a signal handler and a shutdown
// path may both unmount): every call returns nil, the mount goes once
// cleanly, the server stops and lets go of its snapshot.
func TestUnmountConcurrent(t *testing.T) {
	src := newFakeSource(1 << 20)
	src.publish(1, 1<<20, 10)
	s, dir := mountT(t, src, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Unmount()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Unmount: %v", err)
		}
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop within 10 s of the unmounts")
	}
	if m, err := findMount(dir); err != nil || m != nil {
		t.Errorf("%s still mounted after Unmount: %+v, %v", dir, m, err)
	}
	// Generation 1 is the source's current: the server let go of its own
	// reference when it stopped.
	src.publish(2, 1<<20, 10)
	if n := src.hold(1).Released(); n != 1 {
		t.Errorf("generation 1 let go of %d times after the server stopped and it was replaced, want 1", n)
	}
	if n := src.hold(2).Load(); n != 1 {
		t.Errorf("generation 2 published after the server stopped has %d references, want 1 (the source's)", n)
	}
}
