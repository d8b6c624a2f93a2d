package live

import "io"

// Snapshot is one published generation, reduced to the bytes of the files a
// live mount serves. Its readers are safe for concurrent use and keep working
// for as long as anyone holds the snapshot (after newer generations are
// published). vfs serves it; the daemon does not know who reads it.
type Snapshot struct {
	Generation uint64
	Image      io.ReaderAt // the image's content (ImageSize bytes); beyond that up to the capacity: zeros
	ImageSize  int64
	Initrd     io.ReaderAt
	InitrdSize int64
	UKI        io.ReaderAt // the unified kernel image of the same generation; nil: none
	UKISize    int64
}
