package generation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/liveiso/liveiso/efiboot"
	"github.com/liveiso/liveiso/kernel"
)

// ErrArchMismatch: --arch names another architecture than the kernel's.
var ErrArchMismatch = errors.New("the kernel is of another architecture")

// ErrBIOSOnArm64 is returned for --boot bios (or --isolinux) with an arm64
// kernel: arm64 machines boot through UEFI only, and isolinux is x86 code.
var ErrBIOSOnArm64 = errors.New("an arm64 image boots on UEFI only: there is no BIOS (isolinux) boot on arm64")

// ParseArch reads --arch: "" (follow the kernel), amd64 or arm64.
func ParseArch(s string) (kernel.Arch, error) {
	switch a := kernel.Arch(s); a {
	case "", kernel.AMD64, kernel.ARM64:
		return a, nil
	}
	return "", fmt.Errorf("--arch %q: want amd64 or arm64", s)
}

// resolveArch sets b.arch: the kernel's architecture, which opts.Arch must
// match when set. A kernel of no known format (a test's stand-in, a
// 32-bit zImage) is taken to be of opts.Arch, else amd64, as before liveiso
// knew architectures; it is the loader's business to refuse it.
func (b *Builder) resolveArch() error {
	path, f, size, err := b.openKernel()
	if err != nil {
		return err
	}
	defer f.Close()
	k, err := kernel.Identify(f, size)
	switch {
	case err != nil && !errors.Is(err, kernel.ErrUnknownKernel):
		return fmt.Errorf("kernel %s: %w", path, err)
	case err != nil:
		b.arch = b.opts.Arch
		if b.arch == "" {
			b.arch = kernel.AMD64
		}
		b.log.Debug("kernel of unknown format: taking its architecture from --arch", "path", path, "arch", b.arch, "err", err)
	case b.opts.Arch != "" && b.opts.Arch != k.Arch:
		return fmt.Errorf("%w: --arch %s, but %s is an %s kernel (%s)", ErrArchMismatch, b.opts.Arch, path, k.Arch, k.Format)
	default:
		b.arch, b.kernelKind = k.Arch, k
	}
	if b.arch == kernel.ARM64 && (b.opts.Boot.BIOS || b.opts.Isolinux != "" || b.opts.IsolinuxCfg != "") {
		return fmt.Errorf("%w (kernel %s)", ErrBIOSOnArm64, path)
	}
	return nil
}

// openKernel opens the kernel the options name, or the rootfs's newest.
func (b *Builder) openKernel() (string, interface {
	ReadAt([]byte, int64) (int, error)
	Close() error
}, int64, error) {
	if p := b.opts.Kernel; p != "" {
		f, fi, err := openHost(p)
		if err != nil {
			return p, nil, 0, fmt.Errorf("kernel: %w", err)
		}
		return p, f, fi.Size(), nil
	}
	rel, err := newestKernel(b.opts.Rootfs)
	if err != nil {
		return "", nil, 0, err
	}
	f, fi, err := openBeneath(b.opts.Rootfs, rel)
	if err != nil {
		return rel, nil, 0, fmt.Errorf("kernel: %w", err)
	}
	return rel, f, fi.Size(), nil
}

// Arch is the architecture of the images the Builder makes.
func (b *Builder) Arch() kernel.Arch { return b.arch }

// efiArch is the UEFI name of b.arch.
func (b *Builder) efiArch() efiboot.Arch {
	if b.arch == kernel.ARM64 {
		return efiboot.AA64
	}
	return efiboot.X64
}

// DefaultArm64HostSearch is DefaultHostSearch for an arm64 image: arm64's
// GRUB, shim and systemd-stub, and no isolinux, which is x86 code; new
// slices each call.
func DefaultArm64HostSearch() HostSearch {
	return HostSearch{
		Isolinux:   []IsolinuxDir{},
		EFILoaders: efiboot.AA64Loaders(),
		Shims:      efiboot.AA64Shims(),
		UKIStubs: []string{
			"/usr/lib/systemd/boot/efi/linuxaa64.efi.stub", // Debian, Ubuntu: systemd-boot-efi:arm64; Fedora, Arch
		},
	}
}

// withDefaultsFor fills the nil fields of s from the defaults of arch.
func (s HostSearch) withDefaultsFor(arch kernel.Arch) HostSearch {
	if arch == kernel.ARM64 {
		return s.filledFrom(DefaultArm64HostSearch())
	}
	return s.withDefaults()
}

// imageCache holds the uncompressed Image of one version of a gzip-compressed
// arm64 kernel: systemd-stub starts .linux as a PE image, which an Image.gz
// is not, so the UKI carries the Image. It is decompressed once per version
// of the kernel file, not once per generation.
type imageCache struct {
	id   fileIdentity
	data []byte // immutable once stored: generations' UKIs read it
}

// ukiLinux is what the UKI's .linux holds when it is not the kernel file
// itself: the decompressed Image of an Image.gz; nil otherwise.
func (b *Builder) ukiLinux(k file, fi os.FileInfo) (*file, error) {
	kind, err := kernel.Identify(k.Source, k.Size)
	if err != nil || kind.Format != kernel.ImageGz {
		return nil, nil // the kernel goes in as it is, as before
	}
	id := identityOf(fi)
	if b.image.data == nil || b.image.id != id || id == (fileIdentity{}) {
		r, err := kernel.OpenImage(k.Source, k.Size)
		if err != nil {
			return nil, fmt.Errorf("UKI: decompress the kernel: %w", err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("UKI: decompress the kernel: %w", err)
		}
		b.image = imageCache{id: id, data: data}
		b.log.Debug("UKI: decompressed the Image.gz for .linux", "bytes", len(data))
	}
	return &file{Source: bytes.NewReader(b.image.data), Size: int64(len(b.image.data)), Mtime: k.Mtime}, nil
}
