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
	pgz     *pgzip.Writer
	zs      *zstd.Encoder
}

// parallelMinBytes is the chunk size from which a gzip member is compressed
// with pgzip: still one member (the kernel and gzip -dc see an ordinary gzip
// stream), its parallelBlockBytes blocks deflated in parallel, each with the
// block before as its dictionary. Chunks of twice the target and more hold
// much of a tree's bytes, so this puts every core on the long chunks an edit
// may wait for, at a negligible cost in size (MEASUREMENTS.md, cache).
// The choice depends on the chunk alone, not on the number of cores, so a
// chunk is always the same bytes.
const (
	parallelMinBytes   = 1 << 20
	parallelBlockBytes = 512 << 10
)

// begin returns a writer that compresses to dst; the member is complete
// when the returned close function returns. sizeBytes is the uncompressed
// size of the chunk (it selects the parallel encoder).
func (c *compressor) begin(dst io.Writer, sizeBytes int64) (io.Writer, func() error, error) {
	switch c.comp {
	case None:
		return dst, func() error { return nil }, nil
	case Gzip:
		if sizeBytes >= parallelMinBytes {
			// Reused, like the gzip writer: a new pgzip.Writer per chunk
			// brings new deflate encoders, which showed in the daemon's
			// peak RSS (MEASUREMENTS.md, cache).
			if c.pgz == nil {
				w, err := pgzip.NewWriterLevel(dst, c.level)
				if err != nil {
					return nil, nil, err
				}
				c.pgz = w
			} else {
				c.pgz.Reset(dst)
			}
			if err := c.pgz.SetConcurrency(parallelBlockBytes, max(c.workers, 1)); err != nil {
				return nil, nil, err
			}
			return c.pgz, c.pgz.Close, nil
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
		if c.zs == nil {
			w, err := newZstd(dst, c.level)
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

// newZstd makes a zstd encoder that compresses each 128 KiB block while
// the next is being filled (concurrency 2 makes a stream asynchronous), so
// reading a chunk's files overlaps with compressing them; the frame is the
// same bytes as a synchronous encoder's. Wider concurrency gains nothing on
// a stream: its blocks are encoded in order (MEASUREMENTS.md, cache).
func newZstd(dst io.Writer, level int) (*zstd.Encoder, error) {
	return zstd.NewWriter(dst,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithEncoderConcurrency(2),
		// The kernel's unzstd accepts frames with or without a content
		// checksum; keep it, it costs little and catches corruption.
		zstd.WithEncoderCRC(true))
}
