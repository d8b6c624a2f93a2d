package httpserve

import "testing"

func TestKeepHoldsTheLastN(t *testing.T) {
	k := NewKeep(3)
	if k.Current() != nil {
		t.Fatal("a current generation before the first Publish")
	}
	for n := uint64(1); n <= 100; n++ {
		k.Publish(&Generation{Number: n})
		if held := k.Held(); held > 3 {
			t.Fatalf("after generation %d: %d generations held, want at most 3", n, held)
		}
	}
	if c := k.Current(); c == nil || c.Number != 100 {
		t.Fatalf("Current = %+v, want generation 100", c)
	}
	for n, want := range map[uint64]bool{97: false, 98: true, 99: true, 100: true, 1: false, 101: false} {
		g, release, ok := k.Acquire(n)
		if ok != want {
			t.Errorf("Acquire(%d) ok = %v, want %v", n, ok, want)
		}
		if ok {
			if g.Number != n {
				t.Errorf("Acquire(%d) = generation %d", n, g.Number)
			}
			release()
		}
	}
}

// A generation being read stays readable, by new requests too, until its
// last read ends; then it goes.
func TestKeepHoldsWhatIsRead(t *testing.T) {
	k := NewKeep(2)
	k.Publish(&Generation{Number: 1})
	_, release1, ok := k.Acquire(1)
	if !ok {
		t.Fatal("generation 1 not kept")
	}
	for n := uint64(2); n <= 10; n++ {
		k.Publish(&Generation{Number: n})
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

// Keep tells the publisher once when it lets go of a generation: when it
// leaves the ring with no request reading it, or when its last read ends.
func TestKeepReleasesWhatItDrops(t *testing.T) {
	k := NewKeep(2)
	released := map[uint64]int{}
	publish := func(n uint64) {
		k.Publish(&Generation{Number: n, Release: func() { released[n]++ }})
	}
	publish(1)
	publish(2)
	_, read2, ok := k.Acquire(2)
	if !ok {
		t.Fatal("generation 2 not kept")
	}
	if released[1] != 0 || released[2] != 0 {
		t.Fatalf("released %v with generations 1 and 2 kept", released)
	}
	publish(3)
	if released[1] != 1 {
		t.Fatalf("generation 1 released %d times after it left the ring, want 1", released[1])
	}
	publish(4)
	if released[2] != 0 {
		t.Fatalf("generation 2 released while a request reads it")
	}
	read2()
	read2()
	if released[2] != 1 {
		t.Errorf("generation 2 released %d times after its last read ended, want 1", released[2])
	}
	if released[3] != 0 || released[4] != 0 {
		t.Errorf("a kept generation was released: %v", released)
	}
}
