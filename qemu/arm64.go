package qemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Arch is the guest's architecture, as QEMU names its system emulators
// (qemu-system-ARCH). The zero value is X86_64.
type Arch string

// Guest architectures.
const (
	X86_64  Arch = "x86_64"
	AArch64 Arch = "aarch64"
)

// AArch64 emulator and firmware, and the Debian packages that ship them.
const (
	BinaryAArch64        = "qemu-system-aarch64"
	BinaryAArch64Package = "qemu-system-arm"
	AAVMFPackage         = "qemu-efi-aarch64"
)

// AArch64Console is the serial console of QEMU's virt machine (a PL011
// UART), the one the guest's kernel needs console= for.
const AArch64Console = "ttyAMA0"

// AArch64CPU is the CPU of an arm64 guest under TCG: "max" has every
// feature QEMU emulates, and pauth-impdef=on swaps pointer
// authentication's QARMA5 (costly to emulate) for QEMU's own cheap hash,
// which halves the CPU time of a boot (MEASUREMENTS.md, qemu).
const AArch64CPU = "max,pauth-impdef=on"

// ErrNoAAVMF means no AAVMF firmware (edk2 for arm64) was found.
var ErrNoAAVMF = errors.New("no AAVMF firmware (UEFI for arm64)")

// LookPathFor finds the system emulator for guests of arch in PATH.
func LookPathFor(arch Arch) (string, error) {
	if arch != AArch64 {
		return LookPath()
	}
	p, err := exec.LookPath(BinaryAArch64)
	if err != nil {
		return "", fmt.Errorf("%w in PATH (%s, for an arm64 guest): install the Debian package %s", ErrNoQEMU, BinaryAArch64, BinaryAArch64Package)
	}
	return p, nil
}

// AAVMFPlaces are where distributions install edk2 for QEMU's arm64 virt
// machine as pflash: Debian's AAVMF (qemu-efi-aarch64), Fedora's edk2-aarch64.
func AAVMFPlaces() []OVMF {
	return []OVMF{
		{"/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"},
		{"/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw", "/usr/share/edk2/aarch64/vars-template-pflash.raw"},
	}
}

// FindAAVMF is FindOVMF for arm64, naming AAVMF's package when none is found.
func FindAAVMF(places []OVMF) (OVMF, error) {
	var looked []string
	for _, p := range places {
		if isRegular(p.Code) && isRegular(p.Vars) {
			return p, nil
		}
		looked = append(looked, p.Code+" + "+p.Vars)
	}
	return OVMF{}, fmt.Errorf("%w (looked for %s): install the Debian package %s",
		ErrNoAAVMF, strings.Join(looked, ", "), AAVMFPackage)
}

// DetectAccelFor chooses KVM when the guest's architecture is the host's
// and KVM is usable, TCG otherwise, and says why.
func DetectAccelFor(arch Arch) (Accel, string) {
	host := X86_64
	if runtime.GOARCH == "arm64" {
		host = AArch64
	}
	return detectAccelFor(arch, host, "/dev/kvm", "/proc/cpuinfo")
}

func detectAccelFor(guest, host Arch, dev, cpuinfo string) (Accel, string) {
	if guest == "" {
		guest = X86_64
	}
	if guest != host {
		return TCG, fmt.Sprintf("an %s guest on an %s host", guest, host)
	}
	if guest == X86_64 {
		return detectAccel(dev, cpuinfo)
	}
	// arm64 has no CPU flag to ask: a /dev/kvm that answers is KVM.
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return TCG, fmt.Sprintf("no usable %s: %v", dev, err)
	}
	defer f.Close()
	if v, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion); err != nil || v != kvmAPIVersion {
		return TCG, fmt.Sprintf("%s answers no KVM API version %d", dev, kvmAPIVersion)
	}
	return KVM, dev + " is usable"
}

// aarch64Args is Args for QEMU's arm64 virt machine: no IDE or floppy
// there, so the medium is on virtio (virtio-scsi with a scsi-cd, or
// virtio-blk), and the firmware is AAVMF as pflash. With Direct, QEMU
// loads the Image itself with no firmware at all (the kernel gets a
// device tree instead of ACPI), which is the fastest boot.
func (m Machine) aarch64Args() []string {
	cpu := m.CPU
	if cpu == "" {
		cpu = AArch64CPU
		if m.Accel == KVM {
			cpu = "host"
		}
	}
	args := []string{
		"-machine", "virt",
		"-accel", string(m.Accel),
		"-cpu", cpu,
		"-m", strconv.FormatInt(m.MemoryMB, 10),
		"-smp", strconv.Itoa(max(m.CPUs, 1)),
		"-display", "none",
		"-serial", "mon:stdio",
		"-qmp", "unix:" + m.QMP + ",server=on,wait=off",
	}
	switch m.NIC {
	case UserNIC:
		args = append(args, "-nic", "user,model=virtio-net-pci")
	default:
		args = append(args, "-nic", "none")
	}
	if d := m.Direct; d != nil {
		args = append(args, "-kernel", d.Kernel, "-initrd", d.Initrd)
		if d.Append != "" {
			args = append(args, "-append", d.Append)
		}
	} else {
		args = append(args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+m.OVMF.Code,
			"-drive", "if=pflash,format=raw,unit=1,file="+m.OVMF.Vars)
		switch m.Medium {
		case Disk:
			args = append(args,
				"-drive", "file="+m.Image+",format=raw,if=none,id=medium,readonly=on",
				"-device", "virtio-blk-pci,drive=medium")
		default:
			args = append(args,
				"-device", "virtio-scsi-pci,id=scsi",
				"-drive", "file="+m.Image+",format=raw,if=none,id=medium,media=cdrom,readonly=on",
				"-device", "scsi-cd,drive=medium,bus=scsi.0")
		}
	}
	if m.NoReboot {
		args = append(args, "-no-reboot")
	}
	if m.NoShutdown {
		args = append(args, "-no-shutdown")
	}
	return append(args, m.Extra...)
}
