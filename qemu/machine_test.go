package qemu

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// hasSeq reports whether want appears in args as consecutive elements.
func hasSeq(args []string, want ...string) bool {
	for i := 0; i+len(want) <= len(args); i++ {
		if slices.Equal(args[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

func TestMachineArgs(t *testing.T) {
	base := Machine{Accel: TCG, Firmware: BIOS, Medium: CD, Image: "/m/image.iso", MemoryMB: 1024, CPUs: 2, NIC: NoNIC, QMP: "/t/qmp.sock"}
	for _, tc := range []struct {
		name    string
		edit    func(*Machine)
		want    [][]string // each a sequence that must appear
		notWant []string   // options that must not appear
	}{
		{"bios cd", func(*Machine) {}, [][]string{
			{"-accel", "tcg"}, {"-m", "1024"}, {"-smp", "2"}, {"-serial", "mon:stdio"}, {"-display", "none"},
			{"-qmp", "unix:/t/qmp.sock,server=on,wait=off"}, {"-nic", "none"},
			{"-drive", "file=/m/image.iso,format=raw,media=cdrom,readonly=on"},
		}, []string{"-kernel", "-cpu", "-no-reboot", "-no-shutdown", "if=pflash"}},
		{"kvm", func(m *Machine) { m.Accel = KVM }, [][]string{{"-accel", "kvm"}, {"-cpu", "host"}}, nil},
		{"uefi disk", func(m *Machine) {
			m.Firmware, m.Medium = UEFI, Disk
			m.OVMF = OVMF{Code: "/usr/share/OVMF/OVMF_CODE_4M.fd", Vars: "/t/OVMF_VARS_4M.fd"}
		}, [][]string{
			{"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"},
			{"-drive", "if=pflash,format=raw,unit=1,file=/t/OVMF_VARS_4M.fd"},
			{"-drive", "file=/m/image.iso,format=raw,if=virtio,readonly=on"},
		}, []string{"media=cdrom"}},
		{"direct", func(m *Machine) {
			m.Direct = &Direct{Kernel: "/k/vmlinuz", Initrd: "/m/initrd.img", Append: "console=ttyS0 quiet"}
		}, [][]string{{"-kernel", "/k/vmlinuz", "-initrd", "/m/initrd.img", "-append", "console=ttyS0 quiet"}},
			[]string{"file=/m/image.iso,format=raw,media=cdrom,readonly=on"}},
		{"user nic, one boot", func(m *Machine) { m.NIC, m.NoReboot = UserNIC, true },
			[][]string{{"-nic", "user,model=virtio-net-pci"}, {"-no-reboot"}}, []string{"-no-shutdown"}},
		{"watching", func(m *Machine) { m.NoShutdown = true }, [][]string{{"-no-shutdown"}}, []string{"-no-reboot", "-action"}},
		{"watching, reboot stops", func(m *Machine) { m.NoShutdown, m.RebootStops = true, true },
			[][]string{{"-no-shutdown"}, {"-action", "reboot=shutdown"}}, []string{"-no-reboot"}},
		{"extra last", func(m *Machine) { m.Extra = []string{"-smp", "4"} }, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			tc.edit(&m)
			args := m.Args()
			for _, w := range tc.want {
				if !hasSeq(args, w...) {
					t.Errorf("args lack %q:\n%s", w, strings.Join(args, " "))
				}
			}
			joined := strings.Join(args, " ")
			for _, nw := range tc.notWant {
				if strings.Contains(joined, nw) {
					t.Errorf("args have %q:\n%s", nw, joined)
				}
			}
			if len(m.Extra) > 0 && !slices.Equal(args[len(args)-len(m.Extra):], m.Extra) {
				t.Errorf("extra arguments are not last: %s", joined)
			}
		})
	}
}

func TestMachineString(t *testing.T) {
	m := Machine{Accel: TCG, Firmware: UEFI, Medium: Disk, MemoryMB: 1024}
	if got, want := m.String(), "UEFI, disk, TCG, 1024 MiB, 1 CPU"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	m.Direct = &Direct{}
	if got := m.String(); !strings.Contains(got, "direct kernel boot") {
		t.Errorf("String = %q, want direct kernel boot", got)
	}
}

func TestMachineArgsAArch64(t *testing.T) {
	base := Machine{Arch: AArch64, Accel: TCG, Firmware: UEFI, Medium: CD, Image: "/m/image.iso", MemoryMB: 1024, CPUs: 1, QMP: "/t/q.sock",
		OVMF: OVMF{Code: "/usr/share/AAVMF/AAVMF_CODE.fd", Vars: "/t/AAVMF_VARS.fd"}}
	for _, tc := range []struct {
		name    string
		edit    func(*Machine)
		want    [][]string
		notWant []string
	}{
		{"cd", func(*Machine) {}, [][]string{
			{"-machine", "virt"}, {"-accel", "tcg"}, {"-cpu", AArch64CPU},
			{"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd"},
			{"-drive", "if=pflash,format=raw,unit=1,file=/t/AAVMF_VARS.fd"},
			{"-device", "virtio-scsi-pci,id=scsi"},
			{"-drive", "file=/m/image.iso,format=raw,if=none,id=medium,media=cdrom,readonly=on"},
			{"-device", "scsi-cd,drive=medium,bus=scsi.0"},
		}, []string{"-kernel", "virtio-blk", "-parallel"}},
		{"disk", func(m *Machine) { m.Medium = Disk }, [][]string{
			{"-drive", "file=/m/image.iso,format=raw,if=none,id=medium,readonly=on"},
			{"-device", "virtio-blk-pci,drive=medium"},
		}, []string{"media=cdrom", "scsi"}},
		{"direct: no firmware", func(m *Machine) {
			m.Direct = &Direct{Kernel: "/k/Image", Initrd: "/m/initrd.img", Append: "console=ttyAMA0"}
		}, [][]string{{"-kernel", "/k/Image", "-initrd", "/m/initrd.img", "-append", "console=ttyAMA0"}},
			[]string{"pflash", "image.iso"}},
		{"kvm", func(m *Machine) { m.Accel = KVM }, [][]string{{"-accel", "kvm"}, {"-cpu", "host"}}, nil},
		{"cpu chosen", func(m *Machine) { m.CPU = "cortex-a72" }, [][]string{{"-cpu", "cortex-a72"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			tc.edit(&m)
			args := m.Args()
			for _, w := range tc.want {
				if !hasSeq(args, w...) {
					t.Errorf("args lack %q:\n%s", w, strings.Join(args, " "))
				}
			}
			joined := strings.Join(args, " ")
			for _, nw := range tc.notWant {
				if strings.Contains(joined, nw) {
					t.Errorf("args have %q:\n%s", nw, joined)
				}
			}
		})
	}
	if s := base.String(); !strings.Contains(s, "arm64 virt") || !strings.Contains(s, "console ttyAMA0") {
		t.Errorf("String = %q: want the machine and the console the guest needs", s)
	}
}

func TestDetectAccelFor(t *testing.T) {
	if a, why := detectAccelFor(AArch64, X86_64, "/dev/kvm", "/proc/cpuinfo"); a != TCG || !strings.Contains(why, "aarch64 guest on an x86_64 host") {
		t.Errorf("arm64 on x86-64: %s (%s), want TCG", a, why)
	}
	if a, _ := detectAccelFor(AArch64, AArch64, "/nonexistent/kvm", ""); a != TCG {
		t.Errorf("arm64 without /dev/kvm: %s, want TCG", a)
	}
}

func TestFindAAVMF(t *testing.T) {
	_, err := FindAAVMF([]OVMF{{Code: "/nonexistent/CODE.fd", Vars: "/nonexistent/VARS.fd"}})
	if !errors.Is(err, ErrNoAAVMF) || !strings.Contains(err.Error(), "qemu-efi-aarch64") {
		t.Errorf("FindAAVMF: %v; want ErrNoAAVMF naming qemu-efi-aarch64", err)
	}
	// Debian's, which scripts/setup.sh installs.
	if o, err := FindAAVMF(AAVMFPlaces()); err != nil || o.Code != "/usr/share/AAVMF/AAVMF_CODE.fd" {
		t.Errorf("FindAAVMF(AAVMFPlaces()) = %+v, %v", o, err)
	}
}

func TestLookPathForAArch64(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := LookPathFor(AArch64); !errors.Is(err, ErrNoQEMU) || !strings.Contains(err.Error(), "qemu-system-arm") {
		t.Errorf("LookPathFor(AArch64) with an empty PATH: %v; want ErrNoQEMU naming qemu-system-arm", err)
	}
}
