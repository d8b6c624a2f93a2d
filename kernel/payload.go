package kernel

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// ErrPayloadNotRead: the kernel's compressed payload is in a format this
// package does not decompress (xz, lzma, bzip2, lzo, lz4), so what is in it
// (an embedded configuration) cannot be read.
var ErrPayloadNotRead = errors.New("kernel payload not read")

// payloadFormats are the compressions a bzImage payload can have
// (arch/x86/boot/compressed/Makefile), by their magic bytes.
var payloadFormats = []struct {
	name  string
	magic []byte
}{
	{"gzip", []byte{0x1f, 0x8b}},
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{"lzma", []byte{0x5d, 0x00, 0x00}},
	{"bzip2", []byte("BZh")},
	{"lzo", []byte{0x89, 'L', 'Z', 'O'}},
	{"lz4", []byte{0x02, 0x21, 0x4c, 0x18}},
}

// maxPayloadBytes bounds what is decompressed of a payload. A vmlinux is
// tens of MB; the kernel may come from an untrusted rootfs, so a
// decompression bomb must not run away.
const maxPayloadBytes = 512 << 20

// openPayload returns the decompressed payload (the vmlinux) of the bzImage
// r of size bytes, and the name of its compression.
func openPayload(r io.ReaderAt, size int64) (io.ReadCloser, string, error) {
	h, err := ReadSetupHeader(r)
	if err != nil {
		return nil, "", err
	}
	if h.Version < protocolPayload || h.PayloadLength == 0 {
		return nil, "", fmt.Errorf("%w: boot protocol %d.%02d has no payload fields", ErrPayloadNotRead, h.Version>>8, h.Version&0xff)
	}
	off := h.setupBytes() + int64(h.PayloadOffset)
	n := int64(h.PayloadLength)
	if off+n > size {
		return nil, "", fmt.Errorf("%w: payload at %d+%d ends past the file (%d bytes)", ErrNotBzImage, off, n, size)
	}
	payload := io.NewSectionReader(r, off, n)
	magic := make([]byte, 8)
	m, _ := payload.ReadAt(magic, 0)
	magic = magic[:m]
	format := "unknown"
	for _, f := range payloadFormats {
		if bytes.HasPrefix(magic, f.magic) {
			format = f.name
			break
		}
	}
	switch format {
	case "gzip":
		zr, err := gzip.NewReader(payload)
		if err != nil {
			return nil, format, fmt.Errorf("gzip payload: %w", err)
		}
		zr.Multistream(false) // the kernel build appends the uncompressed size after the member
		return readCloser{io.LimitReader(zr, maxPayloadBytes), zr}, format, nil
	case "zstd":
		zr, err := zstd.NewReader(payload, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, format, fmt.Errorf("zstd payload: %w", err)
		}
		return readCloser{io.LimitReader(zr, maxPayloadBytes), closerFunc(zr.Close)}, format, nil
	}
	return nil, format, fmt.Errorf("%w: it is %s-compressed (liveiso reads gzip and zstd)", ErrPayloadNotRead, format)
}

type readCloser struct {
	io.Reader
	io.Closer
}

type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }
