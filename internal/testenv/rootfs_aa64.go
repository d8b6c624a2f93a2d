package testenv

import fx "github.com/liveiso/liveiso/internal/fixture"

// Arm64KernelArgs are KernelArgs for the arm64 guest: its console is the
// virt machine's PL011 UART.
const Arm64KernelArgs = "console=ttyAMA0 panic=-1"

// BuildArm64BusyboxRootfs is BuildBusyboxRootfs for an arm64 guest: Debian's
// arm64 static busybox and the arm64 kernel's modules for a virtio-scsi CD
// and a virtio-blk disk (fx.Arm64Modules).
func BuildArm64BusyboxRootfs(dir, marker string) error {
	a, err := fx.Arm64Fixture()
	if err != nil {
		return err
	}
	return buildBusyboxRootfs(dir, marker, a.Busybox(), a.Kernel.ModulesDir, fx.Arm64Modules(), nil)
}
