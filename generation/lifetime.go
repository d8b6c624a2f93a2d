package generation

import "io"

// Lifetimes.
//
// A Generation holds what it reads: the kernel, loader and extra files
// gather opened, and a cache.Pin on its initrd's members in the disk store,
// which keeps any trim from removing them. It is reference counted, and it starts with one reference,
// which Build hands to its caller. Whoever else keeps reading it (the live
// daemon's current pointer, an open image.iso or initrd.img, an HTTP
// request in flight, a kept generation) takes a reference of its own with
// Retain, or TryRetain when it found the generation through a pointer that
// may be changing, and gives it back with Release. The last Release closes
// the files at once: nothing waits for a finalizer, so a daemon left running
// for days holds the files of the generations still in use and no others.
// A Release without a reference panics, like a negative sync.WaitGroup
// counter: freeing twice is a bug to see, never to absorb. The count is
// internal/refcount's, which the tests of the readers' packages count with
// too.

// Retain adds a reference. The caller must already hold one (Build's, or
// one it retained); a generation already let go of panics.
func (g *Generation) Retain() { g.refs.Retain() }

// TryRetain adds a reference unless the generation was already let go of,
// and reports whether it did. It is for a reader that loaded the generation
// from a pointer that another goroutine swaps and releases: load, TryRetain,
// and on false load again (the pointer has moved on).
func (g *Generation) TryRetain() bool { return g.refs.TryRetain() }

// Release drops a reference; the last one closes what the generation opened
// and unpins its members (they may then be trimmed).
func (g *Generation) Release() {
	if g.refs.Release() {
		closeAll(g.closers)
		g.closers = nil
	}
}

// closeAll closes every one of cs: files opened for reading and a Pin,
// whose Close has nothing to report.
func closeAll(cs []io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}
