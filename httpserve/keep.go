package httpserve

import (
	"sync"
	"sync/atomic"

	"github.com/liveiso/liveiso/live"
)

// DefaultKeep is how many of the newest generations Keep holds by default.
const DefaultKeep = 8

// Keep is the HTTP server's retention of the daemon's snapshots: it holds
// the last n published, and any older one while a request reads it.
// Everything else is let go of, so memory and open files stay bounded
// however many generations pass. It holds one reference to each snapshot
// it keeps (the one Publish hands over) and releases it when the snapshot
// leaves the ring with no request reading it. The lock is held only to
// count reads, never during I/O, so no client can delay Publish.
type Keep struct {
	n       int
	current atomic.Pointer[live.Snapshot]

	mu     sync.Mutex
	ring   []uint64            // numbers of the kept generations, oldest first; at most n
	held   map[uint64]*heldGen // kept or read generations
	closed bool
}

// heldGen is a snapshot with what holds it: the ring, and requests.
type heldGen struct {
	g      *live.Snapshot
	inRing bool
	reads  int
}

var _ Generations = (*Keep)(nil)

// NewKeep keeps the last n generations (DefaultKeep when n < 1).
func NewKeep(n int) *Keep {
	if n < 1 {
		n = DefaultKeep
	}
	return &Keep{n: n, held: make(map[uint64]*heldGen)}
}

// Publish makes g, with the reference the caller hands over, the current
// generation, and lets go of the oldest one beyond the last n (its
// reference goes when its last request ends). It is the daemon's
// subscriber (live.Daemon.Subscribe). After Close it only releases g.
func (k *Keep) Publish(g *live.Snapshot) {
	var dropped *live.Snapshot
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		g.Release()
		return
	}
	k.held[g.Generation] = &heldGen{g: g, inRing: true}
	k.ring = append(k.ring, g.Generation)
	if len(k.ring) > k.n {
		old := k.held[k.ring[0]]
		k.ring = k.ring[1:]
		old.inRing = false
		if old.reads == 0 {
			delete(k.held, old.g.Generation)
			dropped = old.g
		}
	}
	k.current.Store(g)
	k.mu.Unlock()
	if dropped != nil {
		dropped.Release() // outside the lock: it may close files
	}
}

// Close lets go of every kept generation: the server serves none after
// it. A generation a request still reads stays readable to that request,
// and goes when it ends.
func (k *Keep) Close() {
	var dropped []*live.Snapshot
	k.mu.Lock()
	k.closed = true
	k.current.Store(nil)
	for _, n := range k.ring {
		h := k.held[n]
		h.inRing = false
		if h.reads == 0 {
			delete(k.held, n)
			dropped = append(dropped, h.g)
		}
	}
	k.ring = nil
	k.mu.Unlock()
	for _, g := range dropped {
		g.Release()
	}
}

// Current is the last published generation; nil before the first and
// after Close.
func (k *Keep) Current() *live.Snapshot { return k.current.Load() }

// Acquire holds generation n if it is kept or being read.
func (k *Keep) Acquire(n uint64) (*live.Snapshot, func(), bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	h := k.held[n]
	if h == nil || k.closed {
		return nil, nil, false
	}
	h.reads++
	var once sync.Once
	return h.g, func() { once.Do(func() { k.release(h) }) }, true
}

func (k *Keep) release(h *heldGen) {
	k.mu.Lock()
	h.reads--
	drop := h.reads == 0 && !h.inRing
	if drop {
		delete(k.held, h.g.Generation)
	}
	k.mu.Unlock()
	if drop {
		h.g.Release()
	}
}

// Held is how many generations are held, kept or read: at most n plus one
// per request in flight.
func (k *Keep) Held() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.held)
}
