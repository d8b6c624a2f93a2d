package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetectAccelFallsBackToTCG(t *testing.T) {
	dir := t.TempDir()
	cpuinfo := filepath.Join(dir, "cpuinfo")
	if err := os.WriteFile(cpuinfo, []byte("processor\t: 0\nflags\t\t: fpu vme sse2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notKVM := filepath.Join(dir, "kvm")
	if err := os.WriteFile(notKVM, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, dev, reason string }{
		{"missing", filepath.Join(dir, "none"), "no usable"},
		{"not a KVM device", notKVM, "answers no KVM API"},
	} {
		accel, reason := detectAccel(tc.dev, cpuinfo)
		if accel != TCG || !strings.Contains(reason, tc.reason) {
			t.Errorf("%s: detectAccel = %s, %q; want tcg, %q", tc.name, accel, reason, tc.reason)
		}
	}
}

func TestHasCPUFlag(t *testing.T) {
	info := []byte("processor\t: 0\nmodel name\t: vmx-like name\nflags\t\t: fpu vme svm sse2\n\nprocessor\t: 1\nflags\t\t: fpu\n")
	if !hasCPUFlag(info, "svm") {
		t.Error("svm not found in the flags line")
	}
	if hasCPUFlag(info, "vmx") {
		t.Error("vmx found, but it is only in the model name")
	}
	if hasCPUFlag(info, "sse") {
		t.Error("sse found, but only sse2 is there")
	}
}
