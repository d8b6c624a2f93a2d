package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// hybridImage is the image liveiso build writes for the busybox fixture,
// bootable on BIOS and UEFI, as a CD and as a disk (the default), with where
// its EFI System Partition is.
func hybridImage(t *testing.T, marker string) (img string, espLBA, espSize int64) {
	t.Helper()
	fx := newFixture(t, marker)
	img = fx.build(t, "", "--boot", "bios,uefi")
	lba, blocks := fileExtent(t, img, "/boot/efi.img")
	return img, int64(lba), int64(blocks) * 2048
}

// fileExtent asks xorriso where a file's data is: LBA and 2048-byte blocks.
func fileExtent(t *testing.T, img, path string) (lba, blocks int) {
	t.Helper()
	out := tool(t, "xorriso", "-abort_on", "NEVER", "-indev", img, "-find", path, "-exec", "report_lba")
	// File data lba:  0 ,     4711 ,      745 ,    1525411 , '/isolinux/initrd.img'
	m := regexp.MustCompile(`File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*(\d+)\s*,`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no extent of %s in xorriso's report:\n%s", path, out)
	}
	lba, _ = strconv.Atoi(m[1])
	blocks, _ = strconv.Atoi(m[2])
	return lba, blocks
}

// The BIOS+UEFI hybrid image boots to its marker four ways: from a CD and
// from a disk, with SeaBIOS and with OVMF.
func TestHybridImageBootsFourWays(t *testing.T) {
	t.Parallel()
	marker := "hybrid boot " + time.Now().Format(time.RFC3339Nano)
	img, _, _ := hybridImage(t, marker)
	for _, tc := range []struct {
		name string
		opts testenv.VMOptions
	}{
		{"bios-cd", testenv.VMOptions{CDROM: img}},
		{"uefi-cd", testenv.VMOptions{CDROM: img, OVMF: true}},
		{"bios-disk", testenv.VMOptions{Drives: []string{"file=" + img + ",format=raw,if=ide,snapshot=on"}}},
		{"uefi-disk", testenv.VMOptions{Drives: []string{"file=" + img + ",format=raw,if=virtio,readonly=on"}, OVMF: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.NoReboot = true
			start := time.Now()
			vm := testenv.StartVM(t, tc.opts)
			if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
				t.Fatal(err)
			}
			t.Logf("marker after %v", time.Since(start).Round(time.Millisecond))
			// GRUB says nothing but its greeting before the kernel: no
			// "error: file `/boot/' not found." (see package efiboot).
			loader, _, _ := strings.Cut(vm.Console(), "Linux version")
			if strings.Contains(loader, "error:") {
				vm.Fatalf(t, "the loader printed an error before the kernel:\n%s", loader)
			}
		})
	}
}

func hostTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed (scripts/setup.sh installs it)", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: no %q in:\n%s", what, w, out)
		}
	}
}

// Independent readers see both boot entries, the hybrid MBR, the GPT and a
// clean ESP.
func TestHybridImageTools(t *testing.T) {
	t.Parallel()
	img, espLBA, espSize := hybridImage(t, "tools")
	espStart := espLBA * 4
	espSectors := espSize / 512

	out := hostTool(t, "xorriso", "-indev", img, "-report_el_torito", "plain", "-report_system_area", "plain")
	mustContain(t, "xorriso", out,
		"El Torito boot img :   1  BIOS  y   none",
		"El Torito boot img :   2  UEFI  y   none",
		"El Torito img path :   1  /isolinux/isolinux.bin",
		"El Torito img opts :   1  boot-info-table isohybrid-suitable",
		"El Torito img path :   2  /boot/efi.img",
		"GPT partition path :   1  /boot/efi.img",
		"MBR partition path :   2  /boot/efi.img",
	)
	if strings.Contains(out, "WARNING") || strings.Contains(out, "FAILURE") {
		t.Errorf("xorriso complains:\n%s", out)
	}
	out = hostTool(t, "sfdisk", "-d", img)
	mustContain(t, "sfdisk -d", out, "label: gpt", "first-lba: 34",
		fmt.Sprintf("start=%12d, size=%12d, type=C12A7328", espStart, espSectors)+"-F81F-11D2-BA4B-00A0C93EC93B")
	out = hostTool(t, "fdisk", "-l", img)
	mustContain(t, "fdisk -l", out, "Disklabel type: gpt", "EFI System")
	for _, bad := range []string{"corrupt", "mismatch", "not on the end", "overlap", "Warning", "warning"} {
		if strings.Contains(out, bad) {
			t.Errorf("fdisk -l complains (%q):\n%s", bad, out)
		}
	}
	out = hostTool(t, "sgdisk", "-v", img)
	mustContain(t, "sgdisk -v", out, "No problems found")
	out = hostTool(t, "sgdisk", "-p", img)
	mustContain(t, "sgdisk -p", out, "EF00", "EFI System Partition")

	espFile := filepath.Join(t.TempDir(), "esp.img")
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	esp := make([]byte, espSize)
	if _, err := f.ReadAt(esp, espLBA*2048); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(espFile, esp, 0o644); err != nil {
		t.Fatal(err)
	}
	hostTool(t, "fsck.vfat", "-n", espFile)
}

// From the live mount: UEFI boots the image as a CD and, after an edit, the
// README's monitor recipe (a fresh open of the CD, then a reset) boots the
// new generation; and UEFI and BIOS boot it as a disk
// (whose backup GPT is not at the end of the padded image.iso: firmware
// finds it through the primary header).
func TestMountUEFI(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "uefi live before")
	m := startMount(t, fx, testenv.ArgWait, "", "")

	t.Run("cd-live-reboot", func(t *testing.T) {
		t.Parallel()
		vm := bootToMarker(t, testenv.VMOptions{CDROM: m.image(), OVMF: true}, fx.marker)
		if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestWaiting+"$"), time.Minute); err != nil {
			t.Fatal(err)
		}
		before, _ := m.status()
		writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("uefi live after\n"))
		s := m.waitNext(t, before.Generation)
		t.Logf("generation %d ready; resetting the guest", s.Generation)
		if err := vm.BootNewestCD(m.image()); err != nil {
			t.Fatal(err)
		}
		if _, err := vm.WaitForLine(markerLine("uefi live after"), bootTimeout); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		name  string
		ovmf  bool
		drive string
	}{
		{"uefi-disk", true, "if=virtio,readonly=on"},
		{"bios-disk", false, "if=ide,snapshot=on"}, // IDE disks cannot be read-only; writes go to a temporary overlay
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vm := testenv.StartVM(t, testenv.VMOptions{Drives: []string{"file=" + m.image() + ",format=raw," + tc.drive}, OVMF: tc.ovmf})
			if _, err := vm.WaitForLine(regexp.MustCompile("^"+regexp.QuoteMeta(testenv.MarkerPrefix)+"uefi live (before|after)$"), bootTimeout); err != nil {
				t.Fatal(err)
			}
		})
	}
}
