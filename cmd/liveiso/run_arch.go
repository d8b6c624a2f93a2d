package main

import (
	"fmt"
	"os"

	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/kernel"
	"github.com/liveiso/liveiso/qemu"
)

// guestArch is the architecture of the guest run boots: --arch, else the
// kernel's (the build checks that they agree). A kernel that cannot be
// found or identified here is the build's to report; it is taken for
// x86-64, as before run knew architectures.
func (f *runFlags) guestArch(p runPlan) (qemu.Arch, error) {
	a, err := generation.ParseArch(f.image.arch)
	if err != nil {
		return "", usageError{err.Error()}
	}
	if a == "" {
		opts := p.image
		if p.attach {
			st, _ := readStatus(p.mountpoint)
			opts = generation.Options{Rootfs: st.Rootfs, Kernel: f.image.kernel}
		}
		if path, err := generation.KernelFile(opts); err == nil {
			if k, err := identifyFile(path); err == nil {
				a = k.Arch
			}
		}
	}
	if a == kernel.ARM64 {
		return qemu.AArch64, nil
	}
	return qemu.X86_64, nil
}

// identifyFile is kernel.Identify of the regular file at path.
func identifyFile(path string) (kernel.Kind, error) {
	f, err := os.Open(path)
	if err != nil {
		return kernel.Kind{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return kernel.Kind{}, err
	}
	if !fi.Mode().IsRegular() {
		return kernel.Kind{}, fmt.Errorf("%s: not a regular file", path)
	}
	return kernel.Identify(f, fi.Size())
}

// firmwareFor is --firmware for a guest of arch: "" is BIOS on x86-64 and
// UEFI on arm64, which has no other.
func firmwareFor(arch qemu.Arch, flag string) (qemu.Firmware, error) {
	fw := qemu.Firmware(flag)
	switch {
	case fw == "" && arch == qemu.AArch64:
		return qemu.UEFI, nil
	case fw == "":
		return qemu.BIOS, nil
	case fw == qemu.BIOS && arch == qemu.AArch64:
		return "", usageError{"--firmware bios: an arm64 guest boots on UEFI (AAVMF) only"}
	case fw == qemu.BIOS || fw == qemu.UEFI:
		return fw, nil
	}
	return "", usageError{fmt.Sprintf("--firmware %q: want bios or uefi", flag)}
}

// findFirmware finds the UEFI firmware for a guest of arch: OVMF or AAVMF,
// or the files --ovmf-code and --ovmf-vars name.
func (f *runFlags) findFirmware(arch qemu.Arch) (qemu.OVMF, error) {
	if f.ovmfCode != "" || f.ovmfVars != "" {
		if f.ovmfCode == "" || f.ovmfVars == "" {
			return qemu.OVMF{}, usageError{"--ovmf-code and --ovmf-vars go together"}
		}
		places := []qemu.OVMF{{Code: f.ovmfCode, Vars: f.ovmfVars}}
		if arch == qemu.AArch64 {
			return qemu.FindAAVMF(places)
		}
		o, err := qemu.FindOVMF(places)
		if err != nil {
			return o, fmt.Errorf("--firmware uefi: %w", err)
		}
		return o, nil
	}
	if arch == qemu.AArch64 {
		o, err := qemu.FindAAVMF(qemu.AAVMFPlaces())
		if err != nil {
			return o, fmt.Errorf("an arm64 guest: %w", err)
		}
		return o, nil
	}
	o, err := qemu.FindOVMF(qemu.OVMFPlaces())
	if err != nil {
		return o, fmt.Errorf("--firmware uefi: %w", err)
	}
	return o, nil
}
