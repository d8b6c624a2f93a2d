package squashfs

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// decompress is the reader's side of Compressor: an independent decoder
// (zlib's and zstd's readers), not this package's code.
func decompress(t testing.TB, comp Compression, b []byte) []byte {
	t.Helper()
	switch comp {
	case Gzip, None:
		r, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("zlib: %v", err)
		}
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("zlib: %v", err)
		}
		return out
	case Zstd:
		d, err := zstd.NewReader(nil, zstd.WithDecoderMaxWindow(MaxBlockSize))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		out, err := d.DecodeAll(b, nil)
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		return out
	}
	t.Fatalf("compression %q", comp)
	return nil
}
