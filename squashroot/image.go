package squashroot

import (
	"io"

	"github.com/liveiso/liveiso/extent"
	"github.com/liveiso/liveiso/squashfs"
)

// Image is one squashfs image: immutable, an io.ReaderAt safe for
// concurrent reads, readable until its Builder is closed.
type Image struct {
	list          *extent.List
	stats         Stats
	dataBytes     int64
	metadataBytes int64
	inodes        uint32
	comp          squashfs.Compression
}

var _ io.ReaderAt = (*Image)(nil)

// ReadAt reads the image.
func (im *Image) ReadAt(p []byte, off int64) (int, error) { return im.list.ReadAt(p, off) }

// Size is the image's size in bytes, a multiple of 4 KiB.
func (im *Image) Size() int64 { return im.list.Size() }

// Compression is how the image's blocks are stored.
func (im *Image) Compression() squashfs.Compression { return im.comp }

// Stats returns what the Build that made im did.
func (im *Image) Stats() Stats { return im.stats }
