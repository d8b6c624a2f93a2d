package squashroot

import (
	"io"

	"github.com/liveiso/liveiso/extent"
)

// Image is one squashfs image: immutable, an io.ReaderAt safe for
// concurrent reads, readable until its Builder is closed.
type Image struct {
	list          *extent.List
	stats         Stats
	dataBytes     int64
	metadataBytes int64
	inodes        uint32
}

var _ io.ReaderAt = (*Image)(nil)

// ReadAt reads the image.
func (im *Image) ReadAt(p []byte, off int64) (int, error) { return im.list.ReadAt(p, off) }

// Size is the image's size in bytes, a multiple of 4 KiB.
func (im *Image) Size() int64 { return im.list.Size() }

// Stats returns what the Build that made im did.
func (im *Image) Stats() Stats { return im.stats }
