package live

import "io"

// Snapshot is one published generation, reduced to the bytes of the files a
// live mount serves. Its readers are safe for concurrent use and keep working
// while a reference to the snapshot is held (also after newer generations
// are published). vfs serves it; the daemon does not know who reads it.
//
// A reader gets a snapshot with a reference from Daemon.Acquire, may take
// more with Retain (while it holds one) or TryRetain, and gives each back
// with Release; the last Release of a snapshot no longer current closes its
// generation's files (see generation's lifetime.go).
type Snapshot struct {
	Generation uint64
	Image      io.ReaderAt // the image's content (ImageSize bytes); beyond that up to the capacity: zeros
	ImageSize  int64
	Initrd     io.ReaderAt
	InitrdSize int64
	UKI        io.ReaderAt // the unified kernel image of the same generation; nil: none
	UKISize    int64

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
