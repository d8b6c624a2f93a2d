package squashroot

import (
	"fmt"
	"runtime"

	"github.com/liveiso/liveiso/squashfs"
)

// Options tune a Builder.
type Options struct {
	Compression    squashfs.Compression // "" means Gzip
	Level          int                  // 0: squashfs.NewCompressor's default
	BlockSizeBytes uint32               // 0 means squashfs.DefaultBlockSize
	RootOwner      bool                 // every inode uid 0 gid 0
	Workers        int                  // 0 means runtime.NumCPU()
	// SpoolDir holds the spool of compressed blocks (an unlinked file);
	// "" means os.TempDir().
	SpoolDir string
}

func (o Options) resolved() (Options, error) {
	switch o.Compression {
	case "":
		o.Compression = squashfs.Gzip
	case squashfs.Gzip, squashfs.Zstd, squashfs.None:
	default:
		return o, fmt.Errorf("%w: compression %q", squashfs.ErrBadOption, o.Compression)
	}
	if o.BlockSizeBytes == 0 {
		o.BlockSizeBytes = squashfs.DefaultBlockSize
	}
	if err := squashfs.CheckBlockSize(o.BlockSizeBytes); err != nil {
		return o, err
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	return o, nil
}
