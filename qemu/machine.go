package qemu

import (
	"fmt"
	"strconv"
)

// Binary is the emulator; Debian ships it in BinaryPackage.
const (
	Binary        = "qemu-system-x86_64"
	BinaryPackage = "qemu-system-x86"
)

// Accel is QEMU's accelerator.
type Accel string

// Accelerators.
const (
	KVM Accel = "kvm" // hardware virtualisation: needs a usable /dev/kvm
	TCG Accel = "tcg" // QEMU's own translator: works everywhere, several times slower
)

// Firmware is what the virtual machine starts: the PC BIOS (SeaBIOS) or
// UEFI (OVMF).
type Firmware string

// Firmware kinds.
const (
	BIOS Firmware = "bios"
	UEFI Firmware = "uefi"
)

// Medium is how the image is attached: as a CD (El Torito) or as a disk
// (the hybrid MBR/GPT).
type Medium string

// Media.
const (
	CD   Medium = "cd"
	Disk Medium = "disk"
)

// NIC is the guest's network.
type NIC string

// Networks.
const (
	NoNIC   NIC = "none"
	UserNIC NIC = "user" // QEMU's user-mode NAT (slirp): outgoing connections only
)

// Direct is a boot without firmware loader or medium: QEMU loads the kernel
// and the initrd itself. It reads both files only when it starts.
type Direct struct {
	Kernel string
	Initrd string
	Append string // the kernel command line
}

// Machine is one QEMU invocation. Paths are used as given.
type Machine struct {
	Arch     Arch   // the guest's; AArch64 is QEMU's virt machine (arm64.go)
	CPU      string // -cpu; "" is host with KVM, none (x86-64) or AArch64CPU under TCG
	Accel    Accel
	Firmware Firmware
	OVMF     OVMF // with UEFI: the code, and the private copy of the variables
	Medium   Medium
	Image    string  // the image attached as Medium; unused with Direct
	Direct   *Direct // boot the kernel directly instead of from Image
	MemoryMB int64
	CPUs     int
	NIC      NIC
	QMP      string // path of the QMP Unix socket QEMU listens on
	// NoReboot ends QEMU when the guest reboots (or panics with panic=N):
	// a run that watches for one boot.
	NoReboot bool
	// NoShutdown keeps QEMU when the guest powers off; a reset boots it
	// again. A run that resets on every generation wants this.
	NoShutdown bool
	// RebootStops, with NoShutdown, turns a guest's reboot into a stop
	// (QMP SHUTDOWN, reason guest-reset) instead of a reset QEMU makes by
	// itself, so that whoever serves the medium can move it on before the
	// firmware reads it again (Process.BootAgain).
	RebootStops bool
	Extra       []string // appended last, so they can override the others
}

// Args is the command line after Binary. The guest's first serial port and
// QEMU's human monitor share QEMU's stdio (Ctrl-A c switches, Ctrl-A x
// quits); there is no display.
func (m Machine) Args() []string {
	if m.Arch == AArch64 {
		return m.aarch64Args()
	}
	args := []string{
		"-accel", string(m.Accel),
		"-m", strconv.FormatInt(m.MemoryMB, 10),
		"-smp", strconv.Itoa(max(m.CPUs, 1)),
		"-display", "none",
		"-serial", "mon:stdio",
		"-parallel", "none",
		"-qmp", "unix:" + m.QMP + ",server=on,wait=off",
	}
	if m.CPU != "" {
		args = append(args, "-cpu", m.CPU)
	} else if m.Accel == KVM {
		args = append(args, "-cpu", "host")
	}
	switch m.NIC {
	case UserNIC:
		args = append(args, "-nic", "user,model=virtio-net-pci")
	default:
		// No network also means no option ROM for the firmware to run.
		args = append(args, "-nic", "none")
	}
	if m.Firmware == UEFI {
		args = append(args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+m.OVMF.Code,
			"-drive", "if=pflash,format=raw,unit=1,file="+m.OVMF.Vars)
	}
	if d := m.Direct; d != nil {
		args = append(args, "-kernel", d.Kernel, "-initrd", d.Initrd)
		if d.Append != "" {
			args = append(args, "-append", d.Append)
		}
	} else {
		switch m.Medium {
		case Disk:
			// Read-only, so a guest cannot write into the live image's
			// (read-only) mount; virtio-blk boots under SeaBIOS and OVMF.
			args = append(args, "-drive", "file="+m.Image+",format=raw,if=virtio,readonly=on")
		default:
			args = append(args, "-drive", "file="+m.Image+",format=raw,media=cdrom,readonly=on")
		}
	}
	if m.NoReboot {
		args = append(args, "-no-reboot")
	}
	if m.NoShutdown {
		args = append(args, "-no-shutdown")
	}
	if m.RebootStops && !m.NoReboot {
		args = append(args, "-action", "reboot=shutdown")
	}
	return append(args, m.Extra...)
}

// String describes the machine for people: "BIOS, CD, TCG".
func (m Machine) String() string {
	fw := "BIOS"
	if m.Firmware == UEFI {
		fw = "UEFI"
	}
	boot := "CD"
	switch {
	case m.Direct != nil:
		boot = "direct kernel boot"
	case m.Medium == Disk:
		boot = "disk"
	}
	accel := "TCG"
	if m.Accel == KVM {
		accel = "KVM"
	}
	s := fmt.Sprintf("%s, %s, %s, %d MiB, %d CPU", fw, boot, accel, m.MemoryMB, max(m.CPUs, 1))
	if m.Arch == AArch64 {
		fw = "UEFI (AAVMF)"
		if m.Direct != nil {
			fw = "no firmware"
		}
		// The guest's console is the virt machine's PL011: console=ttyAMA0.
		s = fmt.Sprintf("arm64 virt, %s, %s, %s, %d MiB, %d CPU, console %s", fw, boot, accel, m.MemoryMB, max(m.CPUs, 1), AArch64Console)
	}
	return s
}
