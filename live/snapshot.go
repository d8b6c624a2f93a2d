package live

import (
	"io"
	"sync/atomic"
	"time"
)

// Snapshot is one published generation, reduced to what an outlet serves:
// the bytes of its files, their sizes and what status.json said when it was
// published. Every outlet (the FUSE mount, the HTTP server, run) reads this
// one type. Its readers are safe for concurrent use and keep working while a
// reference to the snapshot is held (also after newer generations are
// published); the daemon does not know who reads it.
//
// References: an outlet gets a snapshot with a reference from
// Daemon.Subscribe (or Daemon.Acquire), may take more with Retain (while it
// holds one) or TryRetain, and gives each back with Release; the last
// Release closes the generation's files (see generation's lifetime.go).
type Snapshot struct {
	Generation uint64
	Image      io.ReaderAt // the image's content (ImageSize bytes); beyond that up to Capacity: zeros
	ImageSize  int64
	Capacity   int64 // the size of image.iso in a live mount when it was published: ImageSize plus headroom
	Initrd     io.ReaderAt
	InitrdSize int64
	Kernel     io.ReaderAt // the kernel the image boots, for network and direct boot; nil: none
	KernelSize int64
	UKI        io.ReaderAt // the unified kernel image of the same generation; nil: none
	UKISize    int64
	Published  time.Time // when it became current (HTTP's Last-Modified)

	// Status is status.json as of the publication: how the generation was
	// built (BuildMs, ChunksRebuilt, ...) and its warnings.
	Status Status

	// Holds is what the readers read from, kept while the snapshot is
	// referenced: the daemon's generation.Generation. nil holds nothing
	// (bytes in memory, as a test serves).
	Holds Counted
}

// Counted is a reference-counted resource (generation.Generation).
type Counted interface {
	Retain()
	TryRetain() bool
	Release()
}

// Retain adds a reference; the caller must hold one.
func (s *Snapshot) Retain() {
	if s.Holds != nil {
		s.Holds.Retain()
	}
}

// TryRetain adds a reference unless the last one is gone (see
// generation.Generation.TryRetain).
func (s *Snapshot) TryRetain() bool { return s.Holds == nil || s.Holds.TryRetain() }

// Release drops a reference.
func (s *Snapshot) Release() {
	if s.Holds != nil {
		s.Holds.Release()
	}
}

// Current is an outlet's newest snapshot, holding one reference to it: the
// daemon's current generation, the FUSE mount's. Its read side is lock-free.
type Current struct {
	p atomic.Pointer[Snapshot]
}

// Load is the newest snapshot without a reference: its numbers may be
// read, its readers only after Acquire. nil before the first.
func (c *Current) Load() *Snapshot { return c.p.Load() }

// Acquire returns the newest snapshot with a reference for the caller, who
// must Release it; nil before the first (and after Replace(nil)).
func (c *Current) Acquire() *Snapshot {
	for {
		s := c.p.Load()
		if s == nil {
			return nil
		}
		// A failed TryRetain lost the race with a Replace that let go of
		// s: the pointer has moved on. A success on a snapshot just
		// replaced is retried too, so that an Acquire after a Replace
		// gets the new one.
		if s.TryRetain() {
			if c.p.Load() == s {
				return s
			}
			s.Release()
		}
	}
}

// Replace makes s (with the reference the caller hands over; nil for none)
// the newest snapshot and lets go of the one before: its files close now,
// unless a reader holds it.
func (c *Current) Replace(s *Snapshot) {
	if old := c.p.Swap(s); old != nil {
		old.Release()
	}
}
