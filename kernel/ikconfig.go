package kernel

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// ErrNoEmbeddedConfig: the kernel does not carry its configuration
// (built without CONFIG_IKCONFIG).
var ErrNoEmbeddedConfig = errors.New("no embedded configuration (CONFIG_IKCONFIG)")

// ikconfigStart is what kernel/configs.c puts before the gzip member of the
// .config, with the member's first three bytes (gzip magic, deflate), as
// scripts/extract-ikconfig looks for it, so that a stray "IKCFG_ST" is not
// taken for it. "IKCFG_ED" follows the member; the gzip trailer's CRC
// already says where the member ends and that it is whole.
var ikconfigStart = []byte("IKCFG_ST\x1f\x8b\x08")

// maxConfigBytes bounds the decompressed configuration; a real .config is
// about 300 KB.
const maxConfigBytes = 16 << 20

// EmbeddedConfig returns the configuration embedded in the kernel r of size
// bytes. It looks in the file as it is first (an arm64 Image, a bzImage
// whose payload is not compressed), then in the decompressed payload of a
// bzImage or the decompressed Image.gz. A payload this package
// cannot decompress is ErrPayloadNotRead, no configuration in it
// ErrNoEmbeddedConfig.
func EmbeddedConfig(r io.ReaderAt, size int64) ([]byte, error) {
	cfg, err := findIkconfig(io.NewSectionReader(r, 0, min(size, maxPayloadBytes)))
	if err == nil || !errors.Is(err, ErrNoEmbeddedConfig) {
		return cfg, err
	}
	if k, err := Identify(r, size); err == nil && k.Arch == ARM64 {
		if k.Format == Image {
			return nil, ErrNoEmbeddedConfig // the file was the Image
		}
		img, err := OpenImage(r, size)
		if err != nil {
			return nil, err
		}
		defer img.Close()
		cfg, err := findIkconfig(img)
		if err != nil && !errors.Is(err, ErrNoEmbeddedConfig) {
			return nil, fmt.Errorf("gzip-compressed Image: %w", err)
		}
		return cfg, err
	}
	payload, format, err := openPayload(r, size)
	if err != nil {
		return nil, err
	}
	defer payload.Close()
	cfg, err = findIkconfig(payload)
	if err != nil && !errors.Is(err, ErrNoEmbeddedConfig) {
		return nil, fmt.Errorf("%s payload: %w", format, err)
	}
	return cfg, err
}

// findIkconfig reads r up to the embedded configuration and decompresses it.
func findIkconfig(r io.Reader) ([]byte, error) {
	rest, err := after(r, ikconfigStart)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(io.MultiReader(bytes.NewReader(ikconfigStart[len("IKCFG_ST"):]), rest))
	if err != nil {
		return nil, fmt.Errorf("embedded configuration: %w", err)
	}
	zr.Multistream(false)
	cfg, err := io.ReadAll(io.LimitReader(zr, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("embedded configuration: %w", err)
	}
	if len(cfg) > maxConfigBytes {
		return nil, fmt.Errorf("embedded configuration: larger than %d bytes", maxConfigBytes)
	}
	return cfg, nil
}

// scanChunkBytes is how much after reads at a time.
const scanChunkBytes = 1 << 20

// after reads r until marker and returns the reader of what follows it, or
// ErrNoEmbeddedConfig when r ends first.
func after(r io.Reader, marker []byte) (io.Reader, error) {
	keep := len(marker) - 1 // a marker may straddle two reads
	buf := make([]byte, 0, scanChunkBytes+keep)
	for {
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if i := bytes.Index(buf, marker); i >= 0 {
			return io.MultiReader(bytes.NewReader(buf[i+len(marker):]), r), nil
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrNoEmbeddedConfig
		}
		if err != nil {
			return nil, err
		}
		if len(buf) > keep {
			buf = buf[:copy(buf, buf[len(buf)-keep:])]
		}
	}
}
