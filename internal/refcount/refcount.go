// Package refcount is the reference count of a generation: one protocol for
// the generation itself (generation.Generation) and for the stand-ins that
// tests of its readers (vfs, httpserve) publish.
//
// A count starts with one reference, its creator's. Retain adds one for a
// holder that has one already; TryRetain adds one unless the last is gone,
// for a reader that found the value through a pointer another goroutine
// swaps (load, TryRetain, and on false load again); Release drops one and
// reports the last. Retain after the last Release and a Release without a
// reference panic, like a negative sync.WaitGroup counter: freeing twice is
// a bug to see, never to absorb.
package refcount

import (
	"fmt"
	"sync/atomic"
)

// Count is a reference count; the zero value has no reference (call Init).
type Count struct {
	n          atomic.Int64
	generation uint64 // for the panics
}

// Init gives the count of generation n its first reference, the creator's.
func (c *Count) Init(n uint64) {
	c.generation = n
	c.n.Store(1)
}

// Retain adds a reference; the caller must hold one.
func (c *Count) Retain() {
	if c.n.Add(1) <= 1 {
		panic(fmt.Sprintf("generation %d: Retain after its last Release", c.generation))
	}
}

// TryRetain adds a reference unless the last one is gone, and reports
// whether it did.
func (c *Count) TryRetain() bool {
	for {
		n := c.n.Load()
		if n <= 0 {
			return false
		}
		if c.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release drops a reference and reports whether it was the last.
func (c *Count) Release() (last bool) {
	switch n := c.n.Add(-1); {
	case n < 0:
		panic(fmt.Sprintf("generation %d: Release without a reference", c.generation))
	case n == 0:
		return true
	}
	return false
}

// Load is the number of references, for tests.
func (c *Count) Load() int64 { return c.n.Load() }

// Tracked is a stand-in for a generation in the tests of its readers (vfs,
// httpserve): a Count that records its last Release, where a generation
// closes its files. It is a live.Counted.
type Tracked struct {
	Count
	released atomic.Int64
}

// Release drops a reference; the last is recorded.
func (t *Tracked) Release() {
	if t.Count.Release() {
		t.released.Add(1)
	}
}

// Released is how often the last reference went: 0 or 1, unless the count
// was brought back by a Retain after it, which panics.
func (t *Tracked) Released() int64 { return t.released.Load() }
