package kernel

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// Arch is the architecture a kernel runs on, in Debian's names.
type Arch string

// Architectures liveiso builds images for.
const (
	AMD64 Arch = "amd64" // x86-64: a bzImage; BIOS and UEFI
	ARM64 Arch = "arm64" // 64-bit ARM: an Image or Image.gz; UEFI only
)

// Format is the kind of file a kernel comes as.
type Format string

// Kernel file formats.
const (
	BzImage Format = "bzImage"  // x86 (Documentation/arch/x86/boot.rst)
	Image   Format = "Image"    // arm64, uncompressed; a PE image with the EFI stub
	ImageGz Format = "Image.gz" // arm64, gzip-compressed whole, as some distributions ship it
)

// ErrUnknownKernel: the file is none of the formats of Format. It wraps
// ErrNotBzImage and ErrNotArm64Image too.
var ErrUnknownKernel = errors.New("not a kernel image liveiso knows")

// Kind is what Identify found.
type Kind struct {
	Arch   Arch
	Format Format
}

func (k Kind) String() string { return string(k.Arch) + " " + string(k.Format) }

var gzipMagic = []byte{0x1f, 0x8b}

// Identify says which kernel the file r of size bytes is: an x86 bzImage
// (its setup header), an arm64 Image (its Image header) or a gzip member
// whose first bytes are an arm64 Image header.
func Identify(r io.ReaderAt, size int64) (Kind, error) {
	if _, err := ReadSetupHeader(r); err == nil {
		return Kind{AMD64, BzImage}, nil
	} else if !errors.Is(err, ErrNotBzImage) {
		return Kind{}, err
	}
	if _, err := ReadArm64Header(r); err == nil {
		return Kind{ARM64, Image}, nil
	} else if !errors.Is(err, ErrNotArm64Image) {
		return Kind{}, err
	}
	magic := make([]byte, len(gzipMagic))
	if n, _ := r.ReadAt(magic, 0); n == len(magic) && bytes.Equal(magic, gzipMagic) {
		img, err := gunzipImage(r, size)
		if err != nil {
			return Kind{}, err
		}
		defer img.Close()
		head := make([]byte, arm64HeaderBytes)
		if _, err := io.ReadFull(img, head); err != nil {
			return Kind{}, fmt.Errorf("%w: a gzip file of fewer than %d bytes: %v", ErrUnknownKernel, arm64HeaderBytes, err)
		}
		if _, err := decodeArm64Header(head); err != nil {
			return Kind{}, fmt.Errorf("%w: a gzip file, but not of an arm64 Image (%v)", ErrUnknownKernel, err)
		}
		return Kind{ARM64, ImageGz}, nil
	}
	return Kind{}, fmt.Errorf("%w: neither an x86 bzImage (%w, no HdrS at 0x202) nor an arm64 Image (%w, no ARM\\x64 at 0x38) nor a gzip-compressed one",
		ErrUnknownKernel, ErrNotBzImage, ErrNotArm64Image)
}

// OpenImage returns the uncompressed arm64 Image of r, a file of size
// bytes that Identify says is an Image or an Image.gz.
func OpenImage(r io.ReaderAt, size int64) (io.ReadCloser, error) {
	k, err := Identify(r, size)
	if err != nil {
		return nil, err
	}
	switch k.Format {
	case Image:
		return io.NopCloser(io.NewSectionReader(r, 0, size)), nil
	case ImageGz:
		return gunzipImage(r, size)
	}
	return nil, fmt.Errorf("%w: an %s kernel, not an arm64 Image", ErrNotArm64Image, k)
}

// gunzipImage decompresses the gzip file r, bounded like a payload: the
// kernel may come from an untrusted rootfs.
func gunzipImage(r io.ReaderAt, size int64) (io.ReadCloser, error) {
	zr, err := gzip.NewReader(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("gzip-compressed kernel: %w", err)
	}
	zr.Multistream(false)
	return readCloser{io.LimitReader(zr, maxPayloadBytes), zr}, nil
}

// linuxBanner starts init/version.c's linux_banner, which every kernel
// carries: "Linux version " UTS_RELEASE " (" LINUX_COMPILE_BY ... "\n".
var linuxBanner = []byte("Linux version ")

// imageVersion finds the version string of an uncompressed kernel r in its
// linux_banner: the text after "Linux version " up to the line's end, as
// an x86 setup header's kernel_version holds it.
func imageVersion(r io.Reader) (string, error) {
	for {
		rest, err := after(r, linuxBanner)
		if errors.Is(err, ErrNoEmbeddedConfig) {
			return "", fmt.Errorf("%w: no %q banner in the Image", ErrNoVersion, linuxBanner)
		}
		if err != nil {
			return "", fmt.Errorf("read the kernel version: %w", err)
		}
		buf := make([]byte, maxVersionBytes)
		n, err := io.ReadFull(rest, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return "", fmt.Errorf("read the kernel version: %w", err)
		}
		buf = buf[:n]
		// A format string such as "Linux version %s" is not the banner:
		// the banner's release starts with a digit.
		if end := bytes.IndexAny(buf, "\n\x00"); end > 0 && buf[0] >= '0' && buf[0] <= '9' {
			return string(buf[:end]), nil
		}
		r = io.MultiReader(bytes.NewReader(buf), rest)
	}
}

// VersionOf returns the version string of any kernel Identify knows, as
// Version does for a bzImage: "6.1.0-57-arm64 (debian-kernel@...) #1 SMP ...".
func VersionOf(r io.ReaderAt, size int64) (string, error) {
	k, err := Identify(r, size)
	if err != nil {
		return "", err
	}
	if k.Format == BzImage {
		return Version(r)
	}
	img, err := OpenImage(r, size)
	if err != nil {
		return "", err
	}
	defer img.Close()
	return imageVersion(img)
}
