package efiboot

import (
	"errors"
	"fmt"
	"strings"
)

// Arch is a UEFI architecture by the short name UEFI gives its removable
// media loader (UEFI 2.10 3.5.1.1: BOOTX64.EFI, BOOTAA64.EFI), which shim
// and GRUB use in their file names too (shimx64.efi, grubaa64.efi). The
// zero value is X64.
type Arch string

// Architectures liveiso's ESP boots on.
const (
	X64  Arch = "x64"  // x86-64
	AA64 Arch = "aa64" // 64-bit ARM
)

func (a Arch) name() string {
	if a == "" {
		return string(X64)
	}
	return string(a)
}

// RemovableLoaderPath is where UEFI firmware looks for the loader on
// removable media, inside the ESP (UEFI 2.10 3.5.1.1).
func (a Arch) RemovableLoaderPath() string {
	return "EFI/BOOT/BOOT" + strings.ToUpper(a.name()) + ".EFI"
}

// shimLoaderPath is shim's DEFAULT_LOADER, beside shim.
func (a Arch) shimLoaderPath() string { return "EFI/BOOT/grub" + a.name() + ".efi" }

// mokManagerPath is shim's MOK_MANAGER, beside shim.
func (a Arch) mokManagerPath() string { return "EFI/BOOT/mm" + a.name() + ".efi" }

// mokManagerNames are the names MokManager may have beside a shim the
// user names: the signed build first, as Debian installs both.
func (a Arch) mokManagerNames() []string {
	return []string{"mm" + a.name() + ".efi.signed", "mm" + a.name() + ".efi"}
}

// AA64Loaders are where distributions install an arm64 GRUB EFI image
// that reads its configuration from /boot/grub on an ISO 9660 CD, in
// search order: Debian's signed build, then the same image unsigned; a new
// slice each call.
func AA64Loaders() []string {
	return []string{
		"/usr/lib/grub/arm64-efi-signed/gcdaa64.efi.signed", // Debian, Ubuntu: grub-efi-arm64-signed
		"/usr/lib/grub/arm64-efi/monolithic/gcdaa64.efi",    // Debian, Ubuntu: grub-efi-arm64-bin
	}
}

// AA64Shims are where distributions install an arm64 shim signed by
// Microsoft's UEFI CA, with its MokManager; a new slice each call.
func AA64Shims() []Shim {
	return []Shim{
		// Debian: shim-signed:arm64 and shim-helpers-arm64-signed
		{Shim: "/usr/lib/shim/shimaa64.efi.signed", MokManager: "/usr/lib/shim/mmaa64.efi.signed"},
	}
}

// FindLoaderFor is FindLoader for the architecture a: nil search is
// AA64Loaders for AA64, and the error names a's packages.
func FindLoaderFor(a Arch, path string, search []string) (string, error) {
	if a.name() != string(AA64) {
		return FindLoader(path, search)
	}
	if search == nil {
		search = AA64Loaders()
	}
	p, err := FindLoader(path, search)
	if errors.Is(err, ErrNoLoader) {
		return "", fmt.Errorf("%w: looked for %s; install grub-efi-arm64-signed or grub-efi-arm64-bin (Debian, Ubuntu: the arm64 packages) or pass the loader's path",
			ErrNoLoader, strings.Join(search, ", "))
	}
	return p, err
}

// FindShimFor is FindShim for the architecture a: MokManager is looked for
// by a's names beside a shim the user names, nil search is AA64Shims for
// AA64, and the error names a's packages.
func FindShimFor(a Arch, shim string, search []Shim) (Shim, error) {
	if a.name() != string(AA64) {
		return FindShim(shim, search)
	}
	if search == nil {
		search = AA64Shims()
	}
	return findShim(a, shim, search, "shim-signed:arm64 and shim-helpers-arm64-signed (Debian)")
}
