package newc

import (
	"fmt"
	"strings"
)

// Header is one newc entry's header: the fields of the format's fixed-size
// header plus the name. c_check is always 0 (newc has no checksum) and
// c_namesize is derived from Name.
type Header struct {
	Name      string // path inside the archive, without its NUL
	Ino       uint32 // c_ino: entries of a hard-link group share it (see the package doc)
	Mode      uint32 // c_mode: Type* bits | Mode* bits | permission bits
	UID, GID  uint32
	Nlink     uint32
	Mtime     int64 // seconds since the epoch; must fit 32 unsigned bits
	Size      int64 // c_filesize: bytes of data that follow the header; < 4 GiB
	DevMajor  uint32
	DevMinor  uint32
	RdevMajor uint32 // device nodes: the device's numbers
	RdevMinor uint32
}

// Trailer is the header of the entry that ends an archive.
var trailer = Header{Name: TrailerName, Nlink: 1}

// EncodedLen returns the number of bytes Encode appends: the fixed header,
// the name with its NUL, and the padding to a multiple of Alignment. The
// entry's data (Size bytes, padded) follows.
func (h *Header) EncodedLen() int {
	return align(HeaderSize + len(h.Name) + 1)
}

// DataPadding returns the number of zero bytes that follow the entry's data.
func (h *Header) DataPadding() int {
	return int(-h.Size & (Alignment - 1))
}

// Validate reports whether h can be encoded; the error wraps one of the
// package's sentinel errors and names the entry.
func (h *Header) Validate() error {
	switch {
	case h.Name == "" || strings.IndexByte(h.Name, 0) >= 0:
		return fmt.Errorf("%q: %w", h.Name, ErrInvalidName)
	case len(h.Name)+1 > MaxNameBytes:
		return fmt.Errorf("%s: %w (%d bytes with its NUL, at most %d)", h.Name, ErrNameTooLong, len(h.Name)+1, MaxNameBytes)
	case h.Size < 0:
		return fmt.Errorf("%s: %w: negative size %d", h.Name, ErrFieldRange, h.Size)
	case h.Size > MaxSize:
		return fmt.Errorf("%s: %w (%d bytes)", h.Name, ErrTooLarge, h.Size)
	case h.Mtime < 0 || h.Mtime > MaxSize:
		return fmt.Errorf("%s: %w: mtime %d", h.Name, ErrFieldRange, h.Mtime)
	}
	return nil
}

// Encode appends the header, the name, its NUL and the padding that aligns
// what follows (the data) to 4 bytes to dst. On error dst is returned
// unchanged.
func (h *Header) Encode(dst []byte) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return dst, err
	}
	return h.appendTo(dst), nil
}

// appendTo encodes a valid header.
func (h *Header) appendTo(dst []byte) []byte {
	dst = append(dst, Magic...)
	for _, v := range [fieldCount]uint32{
		h.Ino, h.Mode, h.UID, h.GID, h.Nlink, uint32(h.Mtime), uint32(h.Size),
		h.DevMajor, h.DevMinor, h.RdevMajor, h.RdevMinor,
		uint32(len(h.Name) + 1),
		0, // c_check
	} {
		dst = appendHex(dst, v)
	}
	dst = append(dst, h.Name...)
	dst = append(dst, 0)
	return appendZeros(dst, pad(HeaderSize+len(h.Name)+1))
}

// AppendTrailer appends the TRAILER!!! entry that ends an archive.
func AppendTrailer(dst []byte) []byte {
	return trailer.appendTo(dst)
}

const hexDigits = "0123456789ABCDEF"

// appendHex appends v as 8 uppercase hexadecimal digits, as GNU cpio and the
// kernel's gen_init_cpio write them (readers accept either case).
func appendHex(dst []byte, v uint32) []byte {
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(v>>uint(shift))&0xf])
	}
	return dst
}

func appendZeros(dst []byte, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, 0)
	}
	return dst
}

// pad returns the number of bytes that bring n to a multiple of Alignment.
func pad(n int) int { return -n & (Alignment - 1) }

func align(n int) int { return n + pad(n) }
