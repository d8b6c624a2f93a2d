package refcount

import (
	"sync"
	"testing"
)

func TestCount(t *testing.T) {
	var c Count
	if c.TryRetain() {
		t.Fatal("TryRetain on a count without references succeeded")
	}
	c.Init(7)
	c.Retain()
	if !c.TryRetain() || c.Load() != 3 {
		t.Fatalf("after Init, Retain, TryRetain: %d references, want 3", c.Load())
	}
	for range 2 {
		if c.Release() {
			t.Fatal("a Release before the last reported the last")
		}
	}
	if !c.Release() {
		t.Fatal("the last Release did not say so")
	}
	if c.TryRetain() {
		t.Error("TryRetain after the last Release succeeded")
	}
	for _, f := range []func(){func() { c.Release() }, func() { c.Retain() }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic on a count without references")
				}
			}()
			f()
		}()
	}
}

// Concurrent TryRetain and Release never bring back a count that reached
// zero, and exactly one Release is the last.
func TestCountConcurrent(t *testing.T) {
	var c Count
	c.Init(7)
	var wg sync.WaitGroup
	var mu sync.Mutex
	lasts := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if c.TryRetain() && c.Release() {
					mu.Lock()
					lasts++
					mu.Unlock()
				}
			}
		}()
	}
	if c.Release() {
		lasts++
	}
	wg.Wait()
	if lasts != 1 || c.Load() != 0 {
		t.Errorf("%d last Releases, %d references left; want 1 and 0", lasts, c.Load())
	}
}
