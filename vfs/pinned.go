package vfs

import (
	"sync/atomic"

	"github.com/liveiso/liveiso/live"
)

// pinned is an open file's snapshot, with the file's reference to it,
// released when the file is (FUSE RELEASE) or when it moves on to a newer
// snapshot. A read takes a reference of its own for as long as it reads
// (forRead): a move or a release in another request then never closes
// files under a read in flight.
type pinned struct {
	p atomic.Pointer[live.Snapshot]
}

// hold makes s, with the reference the caller hands over, the pinned
// snapshot.
func (h *pinned) hold(s *live.Snapshot) { h.p.Store(s) }

// forRead returns the pinned snapshot with a reference for the caller, or
// nil once the file is released.
func (h *pinned) forRead() *live.Snapshot {
	for {
		s := h.p.Load()
		if s == nil {
			return nil
		}
		// TryRetain fails only once the file's reference is gone, which
		// happens after h.p has moved on: load again.
		if s.TryRetain() {
			return s
		}
	}
}

// release lets go of the pinned snapshot (FUSE RELEASE); later calls do
// nothing.
func (h *pinned) release() {
	if s := h.p.Swap(nil); s != nil {
		s.Release()
	}
}
