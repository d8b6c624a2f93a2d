package httpserve

import (
	"io"
	"time"
)

// Generation is one immutable generation as the server sees it. Its readers
// must be safe for concurrent use and keep working for as long as the
// generation is held (see Generations).
type Generation struct {
	Number     uint64
	Image      io.ReaderAt // the ISO image, ImageSize bytes (no headroom: HTTP has no fixed size to keep)
	ImageSize  int64
	Kernel     io.ReaderAt // the kernel the image boots, for iPXE's kernel command
	KernelSize int64
	Initrd     io.ReaderAt
	InitrdSize int64
	UKI        io.ReaderAt // the unified kernel image of the same kernel, initrd and command line; nil: none
	UKISize    int64
	Published  time.Time // when it became current: its Last-Modified

	// Chunks are the initrd's parts (members and trailer) in order, each
	// served at its content address /c/KEY; nil: /boot.ipxe loads
	// initrd.img whole. See ChunkNamer.
	Chunks []Chunk
	// KernelKey is the kernel's content address: the chunked script loads
	// it from /c/KernelKey, so that a cache keeps one kernel for every
	// generation that boots it. "": from the generation's URL.
	KernelKey string
	// Took, ChunksRebuilt and ChunksTotal (the initrd's members) describe
	// the build, for the fleet page.
	Took                       time.Duration
	ChunksRebuilt, ChunksTotal int

	// Release, if set, is called once when the server lets go of the
	// generation (Keep: out of the kept ring, no request reading it), so
	// that the publisher can close its files.
	Release func()
}

// Generations is what the server needs of the publisher. Methods are called
// concurrently from request goroutines and must not block on I/O or on a
// build.
type Generations interface {
	// Current is the newest ready generation, nil before the first. The
	// server only names it (in a redirect, a script); reading its bytes
	// goes through Acquire.
	Current() *Generation
	// Acquire holds generation n for one request: it stays readable until
	// release is called. ok is false when n is not (or no longer) kept.
	Acquire(n uint64) (g *Generation, release func(), ok bool)
}
