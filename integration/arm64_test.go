package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liveiso/liveiso/fat"
	fx "github.com/liveiso/liveiso/internal/fixture"
	"github.com/liveiso/liveiso/internal/testenv"
	"github.com/liveiso/liveiso/qemu"
)

// arm64Fixture is a busybox rootfs for an arm64 guest and the arm64
// fixtures it boots with.
type arm64Fixture struct {
	fixture
	a fx.Arm64
}

func newArm64Fixture(t *testing.T, marker string) arm64Fixture {
	t.Helper()
	a, err := fx.Arm64Fixture()
	if err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := testenv.BuildArm64BusyboxRootfs(rootfs, marker); err != nil {
		t.Fatal(err)
	}
	return arm64Fixture{fixture{rootfs: rootfs, kernel: a.Kernel.Vmlinuz, marker: marker}, a}
}

// imageArgs make an arm64 image of fx: Debian's signed GRUB for arm64, and
// shim unless shim is false (then the same GRUB unsigned boots alone).
func (fx arm64Fixture) imageArgs(t *testing.T, shim bool, more ...string) []string {
	args := []string{
		"--rootfs", fx.rootfs,
		"--kernel", fx.kernel,
		"--append", testenv.Arm64KernelArgs,
		"--cache-dir", filepath.Join(t.TempDir(), "cache"),
		"--uki-stub", fx.a.UKIStub(),
	}
	if shim {
		args = append(args, "--efi-loader", fx.a.SignedGrub(), "--shim", fx.a.Shim())
	} else {
		args = append(args, "--efi-loader", fx.a.Grub(), "--secure-boot", "off")
	}
	return append(args, more...)
}

// The arm64 image as independent readers see it: one UEFI El Torito entry
// (no BIOS, no isolinux), a GPT whose ESP fsck.vfat passes, and in the ESP
// shim as BOOTAA64.EFI with GRUB and MokManager beside it.
func TestArm64ImageTools(t *testing.T) {
	t.Parallel()
	fx := newArm64Fixture(t, "arm64 tools")
	img := filepath.Join(t.TempDir(), "arm64.iso")
	stdout, stderr, err := liveiso(t, append([]string{"build", "-o", img}, fx.imageArgs(t, true)...)...)
	if err != nil {
		t.Fatalf("liveiso build: %v\n%s%s", err, stdout, stderr)
	}
	mustContain(t, "build's summary", stdout, "UEFI through shim")

	out := hostTool(t, "xorriso", "-indev", img, "-report_el_torito", "plain", "-report_system_area", "plain", "-find", "/", "-exec", "lsdl")
	mustContain(t, "xorriso", out,
		"El Torito boot img :   1  UEFI  y   none",
		"El Torito img path :   1  /boot/efi.img",
		"GPT partition path :   1  /boot/efi.img",
		"/boot/grub/grub.cfg", "/isolinux/vmlinuz", "/isolinux/initrd.img",
	)
	for _, bad := range []string{"BIOS  y", "isolinux.bin", "ldlinux.c32", "WARNING", "FAILURE"} {
		if strings.Contains(out, bad) {
			t.Errorf("xorriso shows %q:\n%s", bad, out)
		}
	}
	mustContain(t, "sgdisk -v", hostTool(t, "sgdisk", "-v", img), "No problems found")

	espLBA, espSize := espExtent(t, out)
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
	for name, want := range map[string]string{
		"EFI/BOOT/BOOTAA64.EFI": fx.a.Shim(),
		"EFI/BOOT/grubaa64.efi": fx.a.SignedGrub(),
		"EFI/BOOT/mmaa64.efi":   filepath.Join(filepath.Dir(fx.a.Shim()), "mmaa64.efi.signed"),
	} {
		got, err := exec.Command("mcopy", "-n", "-i", espFile, "::"+name, "-").Output()
		if err != nil {
			t.Errorf("mcopy %s: %v", name, err)
			continue
		}
		wantData, err := os.ReadFile(want)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(wantData) {
			t.Errorf("%s: %d bytes, want %s's %d", name, len(got), want, len(wantData))
		}
	}
	// The x86-64 names are not there.
	if out, err := exec.Command("mdir", "-i", espFile, "::EFI/BOOT").Output(); err != nil || strings.Contains(string(out), "X64") {
		t.Errorf("mdir EFI/BOOT: %v\n%s", err, out)
	}

	// The arm64 UKI: arm64's systemd-stub with the Image (a PE image
	// itself), the command line and the initrd, as objdump and sbverify
	// read it.
	uki := filepath.Join(t.TempDir(), "uki.efi")
	if stdout, stderr, err := liveiso(t, append([]string{"build", "--uki", uki}, fx.imageArgs(t, true)...)...); err != nil {
		t.Fatalf("liveiso build --uki: %v\n%s%s", err, stdout, stderr)
	}
	out = hostTool(t, "aarch64-linux-gnu-objdump", "-h", uki) // binutils-aarch64-linux-gnu
	mustContain(t, "objdump -h", out, "pei-aarch64-little", ".osrel", ".cmdline", ".linux", ".initrd")
	hostTool(t, "sbverify", "--list", uki)
}

// espExtent is the ESP's LBA (2048-byte blocks) and size in bytes, from
// xorriso's report of the El Torito image.
func espExtent(t *testing.T, report string) (int64, int64) {
	t.Helper()
	m := regexp.MustCompile(`El Torito boot img :\s+1\s+UEFI\s+y\s+none\s+0x0000\s+0x00\s+(\d+)\s+(\d+)`).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no UEFI boot image in:\n%s", report)
	}
	var sectors, lba int64
	fmt.Sscan(m[1], &sectors)
	fmt.Sscan(m[2], &lba)
	return lba, sectors * 512
}

// Errors that name what is wrong: another --arch than the kernel's, BIOS
// boot of an arm64 kernel.
func TestArm64BuildErrors(t *testing.T) {
	t.Parallel()
	fx := newArm64Fixture(t, "arm64 errors")
	for _, tc := range []struct {
		more []string
		want string
	}{
		{[]string{"--arch", "amd64"}, "--arch amd64, but " + fx.kernel + " is an arm64 kernel (Image)"},
		{[]string{"--boot", "bios"}, "an arm64 image boots on UEFI only"},
		{[]string{"--arch", "riscv64"}, `--arch "riscv64": want amd64 or arm64`},
	} {
		_, stderr, err := liveiso(t, append([]string{"build", "-o", filepath.Join(t.TempDir(), "x.iso")}, fx.imageArgs(t, true, tc.more...)...)...)
		if err == nil || !strings.Contains(stderr, tc.want) {
			t.Errorf("liveiso build %s: %v, stderr %q; want an error saying %q", strings.Join(tc.more, " "), err, stderr, tc.want)
		}
	}
	_, stderr, err := liveiso(t, append([]string{"run", "--firmware", "bios"}, fx.imageArgs(t, true)...)...)
	if err == nil || !strings.Contains(stderr, "an arm64 guest boots on UEFI (AAVMF) only") {
		t.Errorf("liveiso run --firmware bios: %v, stderr %q", err, stderr)
	}
}

// An arm64 guest under TCG boots in 30 s to 90 s on these machines (4 to 10
// times an x86-64 guest), longer under load.
const (
	arm64BootTimeout = 12 * time.Minute
	arm64RunTimeout  = 15 * time.Minute
)

// startArm64Run is startRun with the arm64 timeouts.
func startArm64Run(t *testing.T, args ...string) *liveRun {
	t.Helper()
	r := startRun(t, args...)
	r.bootTimeout, r.runTimeout = arm64BootTimeout, arm64RunTimeout
	return r
}

// liveiso run boots the arm64 busybox rootfs under TCG each way once, in
// parallel: as a CD through shim with the edit loop (edit, reset, the new
// marker from the same QEMU), with --direct, and as a disk with GRUB alone.
func TestArm64Run(t *testing.T) {
	t.Run("cd-shim-loop", func(t *testing.T) {
		t.Parallel()
		fx := newArm64Fixture(t, "arm64 loop before the edit")
		r := startArm64Run(t, append(fx.imageArgs(t, true), "--accel", "tcg")...)
		r.waitLine(t, markerLine(fx.marker))
		r.waitStderr(t, regexp.MustCompile(`arm64 virt, UEFI \(AAVMF\), CD, TCG, .* console ttyAMA0`))
		before := r.qemuChildren(t)
		if len(before) != 1 {
			t.Fatalf("QEMU processes of run: %v, want one", before)
		}
		writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("arm64 loop after the edit\n"))
		r.waitLine(t, markerLine("arm64 loop after the edit"))
		r.waitStderr(t, regexp.MustCompile(`generation 2 ready in \d+ ms \(\d+ of \d+ chunks\), resetting the guest`))
		if after := r.qemuChildren(t); len(after) != 1 || after[0] != before[0] {
			t.Errorf("QEMU processes %v after the edit, want the same one %v: the guest was not reset", after, before)
		}
		r.cmd.Process.Signal(syscall.SIGTERM)
		if code := r.wait(t); code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit status after SIGTERM: %d", code)
		}
	})
	for _, tc := range []struct {
		name string
		shim bool
		args []string
		says string
	}{
		{"direct", true, []string{"--direct"}, "arm64 virt, no firmware, direct kernel boot"},
		{"disk-grub-alone", false, []string{"--medium", "disk"}, "arm64 virt, UEFI (AAVMF), disk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newArm64Fixture(t, "arm64 "+tc.name)
			args := append(fx.imageArgs(t, tc.shim, tc.args...), "--accel", "tcg",
				"--until", "^"+regexp.QuoteMeta(testenv.MarkerPrefix+fx.marker)+"$", "--timeout", "800")
			r := startArm64Run(t, args...)
			if code := r.wait(t); code != 0 {
				t.Fatalf("exit status %d, want 0\nstderr:\n%s\nconsole:\n%s", code, r.stderr.String(), lastLines(r.stdout.String(), testenv.ConsoleTailLines))
			}
			mustContain(t, "run's stderr", r.stderr.String(), tc.says, "matched --until")
		})
	}
}

// The arm64 UKI boots to the marker under AAVMF as EFI/BOOT/BOOTAA64.EFI of
// an ESP on a virtio disk, made from an Image.gz (so .linux holds the
// Image liveiso decompressed), with run's own QEMU arguments.
func TestArm64UKIBootsFromESP(t *testing.T) {
	t.Parallel()
	fx := newArm64Fixture(t, "arm64 uki")
	img, err := os.ReadFile(fx.kernel)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(img)
	zw.Close()
	dir := t.TempDir()
	fx.kernel = filepath.Join(dir, "Image.gz")
	if err := os.WriteFile(fx.kernel, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ukiPath := filepath.Join(dir, "uki.efi")
	if stdout, stderr, err := liveiso(t, append([]string{"build", "--uki", ukiPath}, fx.imageArgs(t, false)...)...); err != nil {
		t.Fatalf("liveiso build --uki: %v\n%s%s", err, stdout, stderr)
	}
	f, err := os.Open(ukiPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	esp, err := fat.Plan(fat.Input{Label: "UKI", VolumeID: 1, Date: fi.ModTime(),
		Files: []fat.File{{Path: "EFI/BOOT/BOOTAA64.EFI", Size: fi.Size(), Source: f}}})
	if err != nil {
		t.Fatal(err)
	}
	espPath := filepath.Join(dir, "esp.img")
	out, err := os.Create(espPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, io.NewSectionReader(esp, 0, esp.Size())); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	aavmf, err := qemu.FindAAVMF(qemu.AAVMFPlaces())
	if err != nil {
		t.Fatal(err)
	}
	if aavmf, err = aavmf.PrivateVars(dir); err != nil {
		t.Fatal(err)
	}
	m := qemu.Machine{Arch: qemu.AArch64, Accel: qemu.TCG, Firmware: qemu.UEFI, OVMF: aavmf, Medium: qemu.Disk,
		Image: espPath, MemoryMB: 1024, CPUs: 1, QMP: filepath.Join(dir, "q.sock"), NoReboot: true}
	bin, err := qemu.LookPathFor(qemu.AArch64)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), arm64BootTimeout)
	defer cancel()
	var console syncBuffer
	cmd := exec.CommandContext(ctx, bin, m.Args()...)
	cmd.Stdout, cmd.Stderr = &console, &console
	start := time.Now()
	if err := cmd.Run(); err != nil && ctx.Err() != nil {
		t.Fatalf("no power-off after %v: %v\nlast console lines:\n%s", arm64BootTimeout, err, lastLines(console.String(), testenv.ConsoleTailLines))
	}
	text := strings.ReplaceAll(console.String(), "\r\n", "\n")
	if _, _, ok := testenv.MatchLine(text, markerLine(fx.marker)); !ok {
		t.Fatalf("no marker; last console lines:\n%s", lastLines(text, testenv.ConsoleTailLines))
	}
	t.Logf("booted the UKI to the marker and powered off in %v", time.Since(start).Round(time.Millisecond))
}
