package generation

import (
	"errors"
	"fmt"

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

// arm64UKIStubPaths are where distributions install systemd-stub for arm64.
func arm64UKIStubPaths() []string {
	return []string{"/usr/lib/systemd/boot/efi/linuxaa64.efi.stub"} // Debian, Ubuntu: systemd-boot-efi:arm64; Fedora, Arch
}
