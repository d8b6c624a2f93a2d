package main

import (
	"strings"
	"testing"

	"github.com/liveiso/liveiso/qemu"
)

func TestFirmwareFor(t *testing.T) {
	for _, tc := range []struct {
		arch    qemu.Arch
		flag    string
		want    qemu.Firmware
		wantErr string
	}{
		{qemu.X86_64, "", qemu.BIOS, ""},
		{qemu.X86_64, "uefi", qemu.UEFI, ""},
		{qemu.AArch64, "", qemu.UEFI, ""},
		{qemu.AArch64, "uefi", qemu.UEFI, ""},
		{qemu.AArch64, "bios", "", "an arm64 guest boots on UEFI (AAVMF) only"},
		{qemu.X86_64, "coreboot", "", `--firmware "coreboot": want bios or uefi`},
	} {
		got, err := firmwareFor(tc.arch, tc.flag)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("firmwareFor(%s, %q) = %q, %v; want %q, %q", tc.arch, tc.flag, got, err, tc.want, tc.wantErr)
		}
	}
}
