package squashfs

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// Compression is how data and metadata blocks are stored.
type Compression string

const (
	Gzip Compression = "gzip" // zlib streams (RFC 1950), compressor id 1, as mksquashfs -comp gzip
	Zstd Compression = "zstd" // zstd frames, compressor id 6
	// None stores every block uncompressed (with its uncompressed bit) and
	// names zlib as the compressor: the kernel wants a compressor it knows
	// even when it never decompresses.
	None Compression = "none"
)

// ID is the superblock's compressor id of c.
func (c Compression) ID() uint16 {
	if c == Zstd {
		return CompressorZstd
	}
	return CompressorZlib
}

// Compressor compresses blocks one at a time; one per goroutine.
type Compressor struct {
	comp Compression
	zw   *zlib.Writer
	zs   *zstd.Encoder
	buf  bytes.Buffer
}

// NewCompressor returns a compressor for blocks of at most maxBlock bytes.
// level 0 is the default level (gzip 9, as mksquashfs; zstd 15, as
// mksquashfs; pass 3 for zstd's own default).
func NewCompressor(c Compression, level int, maxBlock uint32) (*Compressor, error) {
	k := &Compressor{comp: c}
	switch c {
	case None:
	case Gzip:
		if level == 0 {
			level = 9
		}
		w, err := zlib.NewWriterLevel(&k.buf, level)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip level %d: %v", ErrBadOption, level, err)
		}
		k.zw = w
	case Zstd:
		if level == 0 {
			level = 15
		}
		if level < 1 || level > 22 {
			return nil, fmt.Errorf("%w: zstd level %d (1..22)", ErrBadOption, level)
		}
		// The kernel's decompressor is set up for a window of the block
		// size (or the metadata size), so a frame must not ask for more:
		// a single-segment frame's window is its content size.
		w, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(max(int(maxBlock), MetadataSize)),
			zstd.WithSingleSegment(true),
			zstd.WithEncoderCRC(false))
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", ErrBadOption, err)
		}
		k.zs = w
	default:
		return nil, fmt.Errorf("%w: compression %q", ErrBadOption, c)
	}
	return k, nil
}

// Compress appends the stored form of src to dst: compressed if that is
// smaller, else src itself (compressed false), as a reader expects.
func (k *Compressor) Compress(dst, src []byte) (out []byte, compressed bool) {
	switch k.comp {
	case Gzip:
		k.buf.Reset()
		k.zw.Reset(&k.buf)
		k.zw.Write(src) // a bytes.Buffer does not fail
		k.zw.Close()
		if k.buf.Len() < len(src) {
			return append(dst, k.buf.Bytes()...), true
		}
	case Zstd:
		n := len(dst)
		dst = k.zs.EncodeAll(src, dst)
		if len(dst)-n < len(src) {
			return dst, true
		}
		dst = dst[:n]
	}
	return append(dst, src...), false
}
