package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// secureBootLine is what the kernel prints when the firmware says Secure
// Boot is enforcing (drivers/firmware/efi/secureboot.c).
var secureBootLine = regexp.MustCompile(`secureboot: Secure boot enabled`)

// The image with shim boots to its marker under OVMF with Microsoft's keys
// and Secure Boot enforcing, as a CD and as a disk, and the guest kernel
// says Secure Boot is on: shim (signed by Microsoft) verified Debian's GRUB,
// and GRUB, through shim, verified the Debian kernel.
func TestSecureBootBoots(t *testing.T) {
	t.Parallel()
	marker := "secure boot " + time.Now().Format(time.RFC3339Nano)
	fx := newFixture(t, marker)
	out := filepath.Join(t.TempDir(), "image.iso")
	args := append([]string{"build", "-o", out, "--secure-boot", "on"}, fx.imageArgs(t, "")...)
	stdout, stderr, err := liveiso(t, args...)
	if err != nil {
		t.Fatalf("liveiso %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	if !strings.Contains(stdout, "UEFI through shim (Secure Boot)") || strings.Contains(stdout+stderr, "will not boot") {
		t.Fatalf("the summary does not say the image boots through shim, or warns:\n%s%s", stdout, stderr)
	}
	esp := filepath.Join(t.TempDir(), "esp.img")
	lba, blocks := fileExtent(t, out, "/boot/efi.img")
	img := readFile(t, out)
	if err := os.WriteFile(esp, img[int64(lba)*2048:int64(lba+blocks)*2048], 0o644); err != nil {
		t.Fatal(err)
	}
	listing := hostTool(t, "mdir", "-i", esp, "-b", "::/EFI/BOOT")
	mustContain(t, "the ESP's EFI/BOOT", listing, "BOOTX64.EFI", "grubx64.efi", "mmx64.efi", "grub.cfg")

	for _, tc := range []struct {
		name string
		opts testenv.VMOptions
	}{
		{"cd", testenv.VMOptions{CDROM: out}},
		{"disk", testenv.VMOptions{Drives: []string{"file=" + out + ",format=raw,if=virtio,readonly=on"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.OVMF, tc.opts.SecureBoot, tc.opts.NoReboot = true, true, true
			start := time.Now()
			vm := testenv.StartVM(t, tc.opts)
			if _, err := vm.WaitForLine(secureBootLine, bootTimeout); err != nil {
				t.Fatal(err)
			}
			if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
				t.Fatal(err)
			}
			t.Logf("marker with Secure Boot enforcing after %v", time.Since(start).Round(time.Millisecond))
		})
	}
}

// A kernel that is not signed for shim's chain (here the fixture kernel
// with its signature removed by sbattach) builds, and the build says it
// will not boot with Secure Boot enforcing.
func TestSecureBootUnsignedKernelWarns(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "unsigned")
	unsigned := filepath.Join(t.TempDir(), "vmlinuz")
	if err := testenv.CopyFile(fx.kernel, unsigned, 0o644); err != nil {
		t.Fatal(err)
	}
	hostTool(t, "sbattach", "--remove", unsigned)
	fx.kernel = unsigned
	out := filepath.Join(t.TempDir(), "image.iso")
	args := append([]string{"build", "-o", out, "--secure-boot", "on", "--compression", "zstd"}, fx.imageArgs(t, "")...)
	stdout, stderr, err := liveiso(t, args...)
	if err != nil {
		t.Fatalf("liveiso %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	want := "kernel " + unsigned + " is not signed for shim's chain (it is not signed): it will not boot with Secure Boot enforcing"
	if !strings.Contains(stdout, want) || !strings.Contains(stderr, want) {
		t.Errorf("no %q in the summary and the log:\nstdout:\n%s\nstderr:\n%s", want, stdout, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("no image written: %v", err)
	}
}

// --secure-boot on without shim fails before anything is written, and says
// what is missing: with a --shim that has no MokManager beside it, the
// command names MokManager; (the unit tests of package generation check
// that with no shim installed the message names shim-signed).
func TestSecureBootOnWithoutShimFails(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "no shim")
	lone := filepath.Join(t.TempDir(), "shimx64.efi.signed")
	if err := testenv.CopyFile("/usr/lib/shim/shimx64.efi.signed", lone, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "image.iso")
	for _, extra := range [][]string{
		{"--shim", lone},
		{"--shim", filepath.Join(dir, "missing.efi")},
	} {
		args := append([]string{"build", "-o", out, "--uki", filepath.Join(dir, "uki.efi"), "--secure-boot", "on"}, fx.imageArgs(t, "")...)
		args = append(args, extra...)
		_, stderr, err := liveiso(t, args...)
		if err == nil {
			t.Fatalf("liveiso %s succeeded", strings.Join(args, " "))
		}
		if want := "liveiso build: boot through shim: "; !strings.Contains(stderr, want) || !strings.Contains(stderr, extra[1]) {
			t.Errorf("%s: the error does not say %q naming %s:\n%s", extra[1], want, extra[1], stderr)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s: files written despite the error: %v", extra[1], ents)
		}
	}
}
