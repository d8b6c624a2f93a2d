package httpserve

import (
	"sync/atomic"
	"testing"

	"github.com/liveiso/liveiso/live"
)

func TestKeepHoldsTheLastN(t *testing.T) {
	k := NewKeep(3)
	if k.Current() != nil {
		t.Fatal("a current generation before the first Publish")
	}
	for n := uint64(1); n <= 100; n++ {
		k.Publish(&live.Snapshot{Generation: n})
		if held := k.Held(); held > 3 {
			t.Fatalf("after generation %d: %d generations held, want at most 3", n, held)
		}
	}
	if c := k.Current(); c == nil || c.Generation != 100 {
		t.Fatalf("Current = %+v, want generation 100", c)
	}
	for n, want := range map[uint64]bool{97: false, 98: true, 99: true, 100: true, 1: false, 101: false} {
		g, release, ok := k.Acquire(n)
		if ok != want {
			t.Errorf("Acquire(%d) ok = %v, want %v", n, ok, want)
		}
		if ok {
			if g.Generation != n {
				t.Errorf("Acquire(%d) = generation %d", n, g.Generation)
			}
			release()
		}
	}
}

// A generation being read stays readable, by new requests too, until its
// last read ends; then it goes.
func TestKeepHoldsWhatIsRead(t *testing.T) {
	k := NewKeep(2)
	k.Publish(&live.Snapshot{Generation: 1})
	_, release1, ok := k.Acquire(1)
	if !ok {
		t.Fatal("generation 1 not kept")
	}
	for n := uint64(2); n <= 10; n++ {
		k.Publish(&live.Snapshot{Generation: n})
	}
	if held := k.Held(); held != 3 {
		t.Errorf("%d generations held, want the last 2 and the one being read", held)
	}
	_, release2, ok := k.Acquire(1)
	if !ok {
		t.Fatal("generation 1 is being read, but a second request cannot have it")
	}
	release1()
	release1() // a second call of the same release does nothing
	if _, r, ok := k.Acquire(1); !ok {
		t.Fatal("generation 1 dropped while a request still reads it")
	} else {
		r()
	}
	release2()
	if _, _, ok := k.Acquire(1); ok {
		t.Error("generation 1 still readable after its last read ended")
	}
	if held := k.Held(); held != 2 {
		t.Errorf("%d generations held, want 2", held)
	}
}

// refs is a generation's reference count, as generation.Generation keeps
// it: the test publishes with one reference, Keep's; released counts the
// last Release.
type refs struct {
	n        atomic.Int64
	released atomic.Int64
}

func (r *refs) Retain() { r.n.Add(1) }
func (r *refs) TryRetain() bool {
	for {
		n := r.n.Load()
		if n <= 0 {
			return false
		}
		if r.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}
func (r *refs) Release() {
	switch n := r.n.Add(-1); {
	case n < 0:
		panic("Release without a reference")
	case n == 0:
		r.released.Add(1)
	}
}

// counted is generation n holding a reference count with one reference.
func counted(n uint64) (*live.Snapshot, *refs) {
	r := &refs{}
	r.n.Store(1)
	return &live.Snapshot{Generation: n, Holds: r}, r
}

// Keep lets go of its reference once: when a generation leaves the ring
// with no request reading it, or when its last read ends.
func TestKeepReleasesWhatItDrops(t *testing.T) {
	k := NewKeep(2)
	released := map[uint64]*refs{}
	publish := func(n uint64) {
		g, r := counted(n)
		released[n] = r
		k.Publish(g)
	}
	publish(1)
	publish(2)
	_, read2, ok := k.Acquire(2)
	if !ok {
		t.Fatal("generation 2 not kept")
	}
	if released[1].released.Load() != 0 || released[2].released.Load() != 0 {
		t.Fatal("released with generations 1 and 2 kept")
	}
	publish(3)
	if n := released[1].released.Load(); n != 1 {
		t.Fatalf("generation 1 released %d times after it left the ring, want 1", n)
	}
	publish(4)
	if released[2].released.Load() != 0 {
		t.Fatalf("generation 2 released while a request reads it")
	}
	read2()
	read2()
	if n := released[2].released.Load(); n != 1 {
		t.Errorf("generation 2 released %d times after its last read ended, want 1", n)
	}
	if released[3].released.Load() != 0 || released[4].released.Load() != 0 {
		t.Error("a kept generation was released")
	}
}

// Close lets go of every kept generation at once, of one being read when
// its read ends (the read finishes first), and of anything published
// after it; nothing can be acquired any more.
func TestKeepClose(t *testing.T) {
	k := NewKeep(3)
	var rs []*refs
	for n := uint64(1); n <= 3; n++ {
		g, r := counted(n)
		rs = append(rs, r)
		k.Publish(g)
	}
	g2, read2, ok := k.Acquire(2)
	if !ok {
		t.Fatal("generation 2 not kept")
	}
	k.Close()
	if rs[0].released.Load() != 1 || rs[2].released.Load() != 1 {
		t.Errorf("after Close: generations 1 and 3 released %d and %d times, want once each", rs[0].released.Load(), rs[2].released.Load())
	}
	if rs[1].released.Load() != 0 || g2.Generation != 2 {
		t.Fatal("generation 2 released under its read")
	}
	if k.Current() != nil {
		t.Error("a current generation after Close")
	}
	if _, _, ok := k.Acquire(2); ok {
		t.Error("Acquire after Close succeeded")
	}
	read2()
	if n := rs[1].released.Load(); n != 1 {
		t.Errorf("generation 2 released %d times after its read ended, want 1", n)
	}
	g4, r4 := counted(4)
	k.Publish(g4)
	if r4.released.Load() != 1 || k.Held() != 0 {
		t.Errorf("Publish after Close: released %d times, %d held; want 1 and 0", r4.released.Load(), k.Held())
	}
}
