package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Where the setup header sits in a bzImage and what marks it, from the x86
// boot protocol (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel
// Header").
const (
	setupHeaderOffset = 0x1f1  // setup_sects, the header's first field
	hdrSMagic         = "HdrS" // header, at 0x202
	bootFlagMagic     = 0xaa55 // boot_flag, at 0x1fe
	// kernel_version and the fields after it are relative to 0x200, the
	// start of the real-mode code after the boot sector.
	realModeBase = 0x200
	// setup_sects of 0 means 4, for kernels older than the field.
	defaultSetupSects = 4
	sectorBytes       = 512
	// maxVersionBytes bounds the version string read; real ones are about
	// 100 bytes.
	maxVersionBytes = 512
)

// Protocol versions that added the fields read here.
const (
	protocolKernelVersion = 0x0200 // kernel_version
	protocolPayload       = 0x0208 // payload_offset, payload_length
)

// Errors a caller tells apart with errors.Is.
var (
	// ErrNotBzImage: the file has no x86 setup header ("HdrS" at 0x202),
	// or is too short to hold one.
	ErrNotBzImage = errors.New("not an x86 bzImage")
	// ErrNoVersion: a bzImage without a kernel_version string (boot
	// protocol older than 2.00, or the field is 0).
	ErrNoVersion = errors.New("no kernel version string in the setup header")
)

// SetupHeader is the x86 real-mode kernel header, from setup_sects at 0x1f1
// through kernel_info_offset (boot protocol 2.15). The fields carry
// boot.rst's names and sizes, in its order; encoding/binary reads the
// struct packed, so offsets match the file's.
type SetupHeader struct {
	SetupSects          uint8  // 0x1f1 size of the setup in 512-byte sectors, boot sector excluded
	RootFlags           uint16 // 0x1f2
	Syssize             uint32 // 0x1f4
	RAMSize             uint16 // 0x1f8
	VidMode             uint16 // 0x1fa
	RootDev             uint16 // 0x1fc
	BootFlag            uint16 // 0x1fe 0xAA55
	Jump                uint16 // 0x200
	Header              [4]byte
	Version             uint16 // 0x206 boot protocol version
	RealmodeSwtch       uint32 // 0x208
	StartSysSeg         uint16 // 0x20c
	KernelVersion       uint16 // 0x20e pointer to the version string, less 0x200
	TypeOfLoader        uint8  // 0x210
	Loadflags           uint8  // 0x211
	SetupMoveSize       uint16 // 0x212
	Code32Start         uint32 // 0x214
	RamdiskImage        uint32 // 0x218
	RamdiskSize         uint32 // 0x21c
	BootsectKludge      uint32 // 0x220
	HeapEndPtr          uint16 // 0x224
	ExtLoaderVer        uint8  // 0x226
	ExtLoaderType       uint8  // 0x227
	CmdLinePtr          uint32 // 0x228
	InitrdAddrMax       uint32 // 0x22c
	KernelAlignment     uint32 // 0x230
	RelocatableKernel   uint8  // 0x234
	MinAlignment        uint8  // 0x235
	Xloadflags          uint16 // 0x236
	CmdlineSize         uint32 // 0x238
	HardwareSubarch     uint32 // 0x23c
	HardwareSubarchData uint64 // 0x240
	PayloadOffset       uint32 // 0x248 from the protected-mode code to the compressed kernel
	PayloadLength       uint32 // 0x24c
	SetupData           uint64 // 0x250
	PrefAddress         uint64 // 0x258
	InitSize            uint32 // 0x260
	HandoverOffset      uint32 // 0x264
	KernelInfoOffset    uint32 // 0x268
}

// ReadSetupHeader reads the setup header of the bzImage r. A file without
// one is ErrNotBzImage.
func ReadSetupHeader(r io.ReaderAt) (SetupHeader, error) {
	var h SetupHeader
	buf := make([]byte, binary.Size(h))
	if _, err := r.ReadAt(buf, setupHeaderOffset); err != nil {
		if errors.Is(err, io.EOF) {
			return h, fmt.Errorf("%w: too short for a setup header", ErrNotBzImage)
		}
		return h, fmt.Errorf("read the setup header: %w", err)
	}
	if _, err := binary.Decode(buf, binary.LittleEndian, &h); err != nil {
		return h, fmt.Errorf("decode the setup header: %w", err)
	}
	if string(h.Header[:]) != hdrSMagic || h.BootFlag != bootFlagMagic {
		return h, fmt.Errorf("%w: no HdrS magic", ErrNotBzImage)
	}
	return h, nil
}

// setupBytes is the size of the real-mode part before the protected-mode
// code: the boot sector and setup_sects sectors.
func (h SetupHeader) setupBytes() int64 {
	sects := int64(h.SetupSects)
	if sects == 0 {
		sects = defaultSetupSects
	}
	return (sects + 1) * sectorBytes
}

// Version returns the kernel_version string of the bzImage r, as uname -a
// prints it after the name: "6.1.0-57-amd64 (debian-kernel@...) #1 SMP ...".
func Version(r io.ReaderAt) (string, error) {
	h, err := ReadSetupHeader(r)
	if err != nil {
		return "", err
	}
	if h.Version < protocolKernelVersion || h.KernelVersion == 0 {
		return "", ErrNoVersion
	}
	// boot.rst: the string lies within the setup sectors.
	off := int64(h.KernelVersion) + realModeBase
	end := min(off+maxVersionBytes, h.setupBytes())
	if off >= end {
		return "", fmt.Errorf("%w: kernel_version 0x%x points past the setup code", ErrNotBzImage, h.KernelVersion)
	}
	buf := make([]byte, end-off)
	n, err := r.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the kernel version: %w", err)
	}
	buf = buf[:n]
	i := bytes.IndexByte(buf, 0)
	if i < 0 {
		return "", fmt.Errorf("%w: kernel version string is not terminated", ErrNotBzImage)
	}
	if i == 0 {
		return "", ErrNoVersion
	}
	return string(buf[:i]), nil
}

// Release is the first word of a version string, the name `uname -r` prints
// and the VERSION of /boot/vmlinuz-VERSION and /boot/config-VERSION. It is
// "" when that word could not be a file name (it comes from an untrusted
// kernel: no "/", no "." or "..").
func Release(version string) string {
	r, _, _ := strings.Cut(version, " ")
	if r == "." || r == ".." || strings.ContainsAny(r, "/\x00") {
		return ""
	}
	return r
}
