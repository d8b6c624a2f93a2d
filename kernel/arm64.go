package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The arm64 Image header (Documentation/arch/arm64/booting.rst, "Call the
// kernel image"): 64 bytes at the start of the Image, with "ARM\x64" at
// 0x38. An Image built with the EFI stub is also a PE image: code0 is then
// "MZ" and res5 the offset of the PE header.
const (
	arm64MagicOffset = 0x38
	arm64Magic       = "ARM\x64"
	arm64HeaderBytes = 64
)

// Bits of the header's flags (booting.rst).
const (
	arm64FlagBigEndian     = 1 << 0 // bit 0: kernel endianness, 1 is big-endian
	arm64FlagPageSizeShift = 1      // bits 1-2: page size
	arm64FlagPageSizeMask  = 3 << arm64FlagPageSizeShift
	arm64FlagPhysAnywhere  = 1 << 3 // bit 3: 2 MB aligned base anywhere in memory
)

// ErrNotArm64Image: the file has no arm64 Image header ("ARM\x64" at 0x38),
// or is too short to hold one.
var ErrNotArm64Image = errors.New("not an arm64 Image")

// Arm64Header is the arm64 Image header, booting.rst's struct in its order
// and sizes; encoding/binary reads it packed, so offsets match the file's.
type Arm64Header struct {
	Code0      uint32 // 0x00 executable code ("MZ" and a branch with the EFI stub)
	Code1      uint32 // 0x04 executable code
	TextOffset uint64 // 0x08 image load offset from a 2 MB aligned base
	ImageSize  uint64 // 0x10 effective Image size, BSS included; 0 before Linux 3.17
	Flags      uint64 // 0x18 kernel flags
	Res2       uint64 // 0x20 reserved
	Res3       uint64 // 0x28 reserved
	Res4       uint64 // 0x30 reserved
	Magic      [4]byte
	Res5       uint32 // 0x3c reserved; the PE header's offset with the EFI stub
}

// ReadArm64Header reads the header of the arm64 Image r. A file without
// one is ErrNotArm64Image.
func ReadArm64Header(r io.ReaderAt) (Arm64Header, error) {
	var h Arm64Header
	buf := make([]byte, arm64HeaderBytes)
	if _, err := r.ReadAt(buf, 0); err != nil {
		if errors.Is(err, io.EOF) {
			return h, fmt.Errorf("%w: too short for an Image header", ErrNotArm64Image)
		}
		return h, fmt.Errorf("read the arm64 Image header: %w", err)
	}
	return decodeArm64Header(buf)
}

func decodeArm64Header(buf []byte) (Arm64Header, error) {
	var h Arm64Header
	if len(buf) < arm64HeaderBytes {
		return h, fmt.Errorf("%w: too short for an Image header", ErrNotArm64Image)
	}
	if _, err := binary.Decode(buf, binary.LittleEndian, &h); err != nil {
		return h, fmt.Errorf("decode the arm64 Image header: %w", err)
	}
	if string(h.Magic[:]) != arm64Magic {
		return h, fmt.Errorf("%w: no ARM\\x64 magic at 0x%x", ErrNotArm64Image, arm64MagicOffset)
	}
	return h, nil
}

// BigEndian says the kernel runs big-endian (flags bit 0).
func (h Arm64Header) BigEndian() bool { return h.Flags&arm64FlagBigEndian != 0 }

// PageSizeKiB is the kernel's page size, 0 when the header leaves it
// unspecified (flags bits 1-2).
func (h Arm64Header) PageSizeKiB() int {
	switch (h.Flags & arm64FlagPageSizeMask) >> arm64FlagPageSizeShift {
	case 1:
		return 4
	case 2:
		return 16
	case 3:
		return 64
	}
	return 0
}

// EFIStub says the Image is also a PE image (built with CONFIG_EFI_STUB),
// which UEFI firmware and systemd-stub can start.
func (h Arm64Header) EFIStub() bool { return h.Code0&0xffff == 0x5a4d } // "MZ"
