package qemu

import (
	"bytes"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// kvmGetAPIVersion is KVM_GET_API_VERSION (linux/kvm.h: _IO(KVMIO, 0x00)),
// and kvmAPIVersion the only version the kernel has ever answered.
const (
	kvmGetAPIVersion = 0xAE00
	kvmAPIVersion    = 12
)

// DetectAccel chooses KVM when /dev/kvm is usable and TCG otherwise, and
// says why in a few words.
func DetectAccel() (Accel, string) {
	return detectAccel("/dev/kvm", "/proc/cpuinfo")
}

// detectAccel also asks the CPU: some virtual machines offer a /dev/kvm
// that opens and answers, on a CPU without vmx or svm, and every guest
// then dies at its first instruction that needs them.
func detectAccel(dev, cpuinfo string) (Accel, string) {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return TCG, fmt.Sprintf("no usable %s: %v", dev, err)
	}
	defer f.Close()
	v, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion)
	if err != nil || v != kvmAPIVersion {
		return TCG, fmt.Sprintf("%s answers no KVM API version %d", dev, kvmAPIVersion)
	}
	info, err := os.ReadFile(cpuinfo)
	if err != nil {
		return TCG, fmt.Sprintf("read %s: %v", cpuinfo, err)
	}
	if !hasCPUFlag(info, "vmx") && !hasCPUFlag(info, "svm") {
		return TCG, fmt.Sprintf("%s opens, but the CPU has neither vmx nor svm", dev)
	}
	return KVM, dev + " is usable"
}

// hasCPUFlag reports whether a "flags" line of /proc/cpuinfo names flag.
func hasCPUFlag(cpuinfo []byte, flag string) bool {
	for line := range bytes.Lines(cpuinfo) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(bytes.TrimSpace(name)) != "flags" {
			continue
		}
		for _, f := range bytes.Fields(value) {
			if string(f) == flag {
				return true
			}
		}
	}
	return false
}
