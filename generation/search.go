package generation

import "github.com/liveiso/liveiso/efiboot"

// HostSearch is where a Builder looks on the host for the boot files the
// options do not name. A nil field searches the distributions' usual
// places (DefaultHostSearch); a test points a field at its own directory
// instead of changing what every other test sees.
type HostSearch struct {
	Isolinux   []IsolinuxDir  // isolinux.bin and ldlinux.c32, for Options.Isolinux ""
	EFILoaders []string       // GRUB EFI images, for Options.EFILoader ""
	Shims      []efiboot.Shim // shim with MokManager, for Options.Shim ""
	UKIStubs   []string       // systemd-stub, for Options.UKIStub ""
}

// IsolinuxDir is a directory of isolinux.bin with the directory of the
// ldlinux.c32 that matches it.
type IsolinuxDir struct {
	Loader  string // holds isolinux.bin
	Modules string // holds ldlinux.c32
}

// DefaultHostSearch is where distributions install the boot files, each
// list in search order; new slices each call.
func DefaultHostSearch() HostSearch {
	return HostSearch{
		// Debian splits isolinux.bin and ldlinux.c32 across packages
		// (isolinux, syslinux-common); Fedora and Arch keep them side by
		// side.
		Isolinux: []IsolinuxDir{
			{"/usr/lib/ISOLINUX", "/usr/lib/syslinux/modules/bios"}, // Debian, Ubuntu
			{"/usr/share/syslinux", "/usr/share/syslinux"},          // Fedora, openSUSE
			{"/usr/lib/syslinux/bios", "/usr/lib/syslinux/bios"},    // Arch
			{"/usr/lib/syslinux", "/usr/lib/syslinux/modules/bios"}, // older Debian
			{"/usr/share/syslinux/bios", "/usr/share/syslinux/bios"},
		},
		EFILoaders: efiboot.DefaultLoaders(),
		Shims:      efiboot.DefaultShims(),
		UKIStubs: []string{
			"/usr/lib/systemd/boot/efi/linuxx64.efi.stub", // Debian, Ubuntu: systemd-boot-efi; Fedora, Arch
		},
	}
}

// withDefaults fills the nil fields of s from DefaultHostSearch.
func (s HostSearch) withDefaults() HostSearch {
	d := DefaultHostSearch()
	if s.Isolinux == nil {
		s.Isolinux = d.Isolinux
	}
	if s.EFILoaders == nil {
		s.EFILoaders = d.EFILoaders
	}
	if s.Shims == nil {
		s.Shims = d.Shims
	}
	if s.UKIStubs == nil {
		s.UKIStubs = d.UKIStubs
	}
	return s
}
