package httpserve

import (
	"sync"
	"sync/atomic"
)

// DefaultKeep is how many of the newest generations Keep holds by default.
const DefaultKeep = 8

// Keep is a Generations that holds the last n published generations, and
// any older one while a request reads it. Everything else is dropped, so
// memory and open files stay bounded however many generations pass. The
// lock is held only to count references, never during I/O, so no client
// can delay Publish.
type Keep struct {
	n       int
	current atomic.Pointer[Generation]

	mu   sync.Mutex
	ring []uint64            // numbers of the kept generations, oldest first; at most n
	held map[uint64]*heldGen // kept or read generations
}

// heldGen is a generation with its references: the ring's and requests'.
type heldGen struct {
	g      *Generation
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

// Publish makes g the current generation and lets go of the oldest one
// beyond the last n (it goes when its last request ends).
func (k *Keep) Publish(g *Generation) {
	var dropped *Generation
	k.mu.Lock()
	k.held[g.Number] = &heldGen{g: g, inRing: true}
	k.ring = append(k.ring, g.Number)
	if len(k.ring) > k.n {
		old := k.held[k.ring[0]]
		k.ring = k.ring[1:]
		old.inRing = false
		if old.reads == 0 {
			delete(k.held, old.g.Number)
			dropped = old.g
		}
	}
	k.mu.Unlock()
	k.current.Store(g)
	dropped.release()
}

// release tells g's publisher that Keep let go of it, outside Keep's lock
// (it closes files).
func (g *Generation) release() {
	if g != nil && g.Release != nil {
		g.Release()
	}
}

// Current is the last published generation.
func (k *Keep) Current() *Generation { return k.current.Load() }

// Acquire holds generation n if it is kept or being read.
func (k *Keep) Acquire(n uint64) (*Generation, func(), bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	h := k.held[n]
	if h == nil {
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
		delete(k.held, h.g.Number)
	}
	k.mu.Unlock()
	if drop {
		h.g.release()
	}
}

// Held is how many generations are held, kept or read: at most n plus one
// per request in flight.
func (k *Keep) Held() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.held)
}
