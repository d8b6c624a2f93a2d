package cache

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// compressor turns a chunk's newc bytes into one member. A worker owns one
// and reuses its encoders from chunk to chunk.
type compressor struct {
	comp    Compression
	level   int
	workers int // for the parallel encoders of a large single-item chunk
	gz      *gzip.Writer
	zs      *zstd.Encoder
}

// parallelMinBytes is the chunk size from which a gzip member is compressed
// with pgzip: one member still (the kernel and gzip -dc see an ordinary gzip
// stream), its 1 MiB blocks deflated in parallel, so that a large file at
// the end of a Pack does not leave the other cores idle.
const parallelMinBytes = 8 << 20

// begin returns a writer that compresses to dst; the member is complete
// when the returned close function returns. sizeBytes is the uncompressed
// size of the chunk (it selects the parallel encoder).
func (c *compressor) begin(dst io.Writer, sizeBytes int64) (io.Writer, func() error, error) {
	switch c.comp {
	case None:
		return dst, func() error { return nil }, nil
	case Gzip:
		if sizeBytes >= parallelMinBytes && c.workers > 1 {
			w, err := pgzip.NewWriterLevel(dst, c.level)
			if err != nil {
				return nil, nil, err
			}
			if err := w.SetConcurrency(1<<20, c.workers); err != nil {
				return nil, nil, err
			}
			return w, w.Close, nil
		}
		if c.gz == nil {
			w, err := gzip.NewWriterLevel(dst, c.level)
			if err != nil {
				return nil, nil, err
			}
			c.gz = w
		} else {
			c.gz.Reset(dst)
		}
		return c.gz, c.gz.Close, nil
	case Zstd:
		conc := 1
		if sizeBytes >= parallelMinBytes {
			conc = c.workers
		}
		// The encoder of a small chunk is kept; a large chunk gets its own,
		// with concurrency.
		if conc > 1 {
			w, err := newZstd(dst, c.level, conc)
			if err != nil {
				return nil, nil, err
			}
			return w, w.Close, nil
		}
		if c.zs == nil {
			w, err := newZstd(dst, c.level, 1)
			if err != nil {
				return nil, nil, err
			}
			c.zs = w
		} else {
			c.zs.Reset(dst)
		}
		return c.zs, c.zs.Close, nil
	}
	return nil, nil, fmt.Errorf("compression %q: %w", c.comp, ErrBadOption)
}

func newZstd(dst io.Writer, level, concurrency int) (*zstd.Encoder, error) {
	return zstd.NewWriter(dst,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithEncoderConcurrency(concurrency),
		// The kernel's unzstd accepts frames with or without a content
		// checksum; keep it, it costs little and catches corruption.
		zstd.WithEncoderCRC(true))
}
