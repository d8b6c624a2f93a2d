package integration

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// Boot timeouts are generous: TCG on two cores shared with other tests.
const (
	bootTimeout = 4 * time.Minute
	listTimeout = 4 * time.Minute
)

// referenceImage builds the busybox rootfs with marker and its reference
// image in the test's temp dir.
func referenceImage(t *testing.T, marker string, opts testenv.ReferenceOptions) *testenv.ReferenceImage {
	t.Helper()
	fx := newFixture(t, marker)
	img, err := testenv.BuildReference(context.Background(), t.TempDir(), fx.rootfs, fx.kernel, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reference image: initrd %v, iso %v", img.InitrdTime.Round(time.Millisecond), img.ISOTime.Round(time.Millisecond))
	return img
}

func markerLine(marker string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.QuoteMeta(testenv.MarkerPrefix+marker) + "$")
}

// The reference image of the busybox rootfs boots from the CD to its
// marker line and powers off.
func TestReferenceBootsToMarker(t *testing.T) {
	t.Parallel()
	marker := "reference boot " + time.Now().Format(time.RFC3339Nano)
	img := referenceImage(t, marker, testenv.ReferenceOptions{})

	start := time.Now()
	vm := testenv.StartVM(t, testenv.VMOptions{CDROM: img.ISO, NoReboot: true})
	if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
		t.Fatal(err)
	}
	t.Logf("marker after %v", time.Since(start).Round(time.Millisecond))
	if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestPoweroff+"$"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := vm.WaitExit(time.Minute); err != nil {
		vm.Fatalf(t, "after poweroff: %v", err)
	}
}

// With EFILoader the reference image has a UEFI boot entry beside the BIOS
// one, and OVMF boots it from the CD to the marker: the classic recipe's
// counterpart of liveiso's default image, which the benchmarks compare.
func TestReferenceUEFIBootsToMarker(t *testing.T) {
	t.Parallel()
	marker := "reference uefi boot " + time.Now().Format(time.RFC3339Nano)
	img := referenceImage(t, marker, testenv.ReferenceOptions{EFILoader: testenv.GrubEFILoader})
	if img.ESP != filepath.Join(img.ISODir, testenv.ReferenceESPPath) {
		t.Errorf("ESP = %q", img.ESP)
	}
	out := hostTool(t, "xorriso", "-indev", img.ISO, "-report_el_torito", "plain")
	mustContain(t, "xorriso", out,
		"El Torito boot img :   1  BIOS  y   none",
		"El Torito boot img :   2  UEFI  y   none",
		"El Torito img path :   1  /isolinux/isolinux.bin",
		"El Torito img path :   2  /"+testenv.ReferenceESPPath,
	)
	hostTool(t, "fsck.vfat", "-n", img.ESP)
	vm := bootToMarker(t, testenv.VMOptions{CDROM: img.ISO, OVMF: true, NoReboot: true}, marker)
	if err := vm.WaitExit(time.Minute); err != nil {
		vm.Fatalf(t, "after poweroff: %v", err)
	}
}

// With Shim the reference ESP is Debian's Secure Boot chain (shim as
// BOOTX64.EFI, GRUB as grubx64.efi, MokManager), and the image boots to its
// marker under OVMF with Microsoft's keys and Secure Boot enforcing: the
// classic recipe's counterpart of liveiso's default image where shim is
// installed, which the benchmarks compare sizes with.
func TestReferenceSecureBootBootsToMarker(t *testing.T) {
	t.Parallel()
	marker := "reference secure boot " + time.Now().Format(time.RFC3339Nano)
	img := referenceImage(t, marker, testenv.ReferenceOptions{EFILoader: testenv.GrubEFILoader, Shim: testenv.ShimEFI})
	hostTool(t, "fsck.vfat", "-n", img.ESP)
	listing := hostTool(t, "mdir", "-i", img.ESP, "-b", "::/EFI/BOOT")
	mustContain(t, "the reference ESP's EFI/BOOT", listing, "BOOTX64.EFI", "grubx64.efi", "mmx64.efi", "grub.cfg")
	vm := testenv.StartVM(t, testenv.VMOptions{CDROM: img.ISO, OVMF: true, SecureBoot: true, NoReboot: true})
	if _, err := vm.WaitForLine(secureBootLine, bootTimeout); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
		t.Fatal(err)
	}
}

// The same kernel and initrd boot directly (-kernel/-initrd), the way a test
// boots initrd.img without a CD, under SeaBIOS and under the UEFI firmware
// (OVMF as pflash).
func TestDirectKernelBootsToMarker(t *testing.T) {
	t.Parallel()
	for _, firmware := range []struct {
		name string
		ovmf bool
	}{{"bios", false}, {"ovmf", true}} {
		t.Run(firmware.name, func(t *testing.T) {
			t.Parallel()
			marker := firmware.name + " direct boot " + time.Now().Format(time.RFC3339Nano)
			img := referenceImage(t, marker, testenv.ReferenceOptions{})
			vm := bootToMarker(t, testenv.VMOptions{
				OVMF:     firmware.ovmf,
				Kernel:   filepath.Join(img.ISODir, "isolinux/vmlinuz"),
				Initrd:   img.Initrd,
				Append:   testenv.KernelArgs,
				NoReboot: true,
			}, marker)
			if err := vm.WaitExit(time.Minute); err != nil {
				vm.Fatalf(t, "after poweroff: %v", err)
			}
		})
	}
}

// The guest mounts its own CD and lists it: what it sees (Rock Ridge names,
// modes, owners, symlinks, file contents) equals the tree the image was made
// from. Then a system_reset boots the same CD again without restarting QEMU.
func TestReferenceMountCDListsISOTree(t *testing.T) {
	t.Parallel()
	extra := filepath.Join(t.TempDir(), "extra")
	writeTree(t, extra)
	marker := "mountcd " + time.Now().Format(time.RFC3339Nano)
	img := referenceImage(t, marker, testenv.ReferenceOptions{
		Append:   testenv.ArgMountCD + " " + testenv.ArgWait,
		ExtraDir: extra,
	})
	want, err := testenv.ListTree(img.ISODir)
	if err != nil {
		t.Fatal(err)
	}

	vm := testenv.StartVM(t, testenv.VMOptions{CDROM: img.ISO})
	done := regexp.MustCompile("^(" + testenv.ListEnd + "|" + testenv.GuestError + ".*)$")
	for boot := 1; boot <= 2; boot++ {
		if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
			t.Fatalf("boot %d: %v", boot, err)
		}
		line, err := vm.WaitForLine(done, listTimeout)
		if err != nil {
			t.Fatalf("boot %d: %v", boot, err)
		}
		if line != testenv.ListEnd {
			vm.Fatalf(t, "boot %d: guest: %s", boot, line)
		}
		got, err := testenv.GuestListing(vm.Console())
		if err != nil {
			vm.Fatalf(t, "boot %d: %v", boot, err)
		}
		// genisoimage adds the boot catalog, and rr_moved for the
		// directories it relocates because ISO 9660 allows only 8 levels
		// (Rock Ridge puts them back in place). It patches the boot info
		// table into isolinux.bin in ISODir itself, so that file compares
		// as it is.
		got = dropPath(t, got, "isolinux/boot.cat")
		got = dropPath(t, got, "rr_moved")
		if diff := testenv.DiffListings(want, got); len(diff) > 0 {
			vm.Fatalf(t, "boot %d: the guest's listing of its CD differs from the ISO tree:\n%s", boot, strings.Join(diff, "\n"))
		}
		if boot == 1 {
			if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestWaiting+"$"), time.Minute); err != nil {
				t.Fatal(err)
			}
			if status, err := vm.Monitor("info status"); err != nil || status != "VM status: running" {
				vm.Fatalf(t, "monitor: info status: %q, %v", status, err)
			}
			if err := vm.SystemReset(); err != nil {
				vm.Fatalf(t, "%v", err)
			}
		}
	}
}

// writeTree writes a tree that exercises Rock Ridge: long and mixed-case
// names, a deep directory, symlinks (relative, absolute, dangling), special
// permission bits and an empty file.
func writeTree(t *testing.T, dir string) {
	t.Helper()
	files := []struct {
		path string
		mode uint32 // Unix permission bits, as chmod(2) takes them
		data string
	}{
		{"docs/A Long File Name With Spaces And MixedCase.txt", 0o644, "hello\n"},
		{"docs/empty", 0o600, ""},
		{"bin/setuid-tool", 0o4755, "#!/bin/sh\n"},
		{"a/b/c/d/e/f/g/h/i/deep.file.with.many.dots", 0o640, strings.Repeat("x", 70000)},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Chmod(filepath.Join(dir, "docs"), 0o1777); err != nil {
		t.Fatal(err)
	}
	for target, link := range map[string]string{
		"../docs/empty":     "bin/relative-link",
		"/etc/marker":       "bin/absolute-link",
		"no/such/file":      "bin/dangling-link",
		"a/b/c/d/e/f/g/h/i": "deep-dir-link",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
}

func dropPath(t *testing.T, entries []testenv.ListEntry, path string) []testenv.ListEntry {
	t.Helper()
	for i, e := range entries {
		if e.Path == path {
			return append(entries[:i:i], entries[i+1:]...)
		}
	}
	t.Errorf("listing has no %s", path)
	return entries
}
