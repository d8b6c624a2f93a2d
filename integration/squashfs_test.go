package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// squashfsModules are the modules liveiso's own init loads besides the
// CD-ROM ones; the test rootfs carries them flat in /lib/modules, as it
// does the others.
var squashfsModules = []string{"loop", "squashfs", "overlay",
	"virtio", "virtio_ring", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "virtio_blk"}

// newSquashfsFixture is the busybox fixture with the modules --root
// squashfs needs.
func newSquashfsFixture(t *testing.T, marker string) fixture {
	t.Helper()
	fx := newFixture(t, marker)
	k, err := testenv.Kernel()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range squashfsModules {
		src := filepath.Join(k.ModulesDir, m+".ko")
		if _, err := os.Stat(src); err != nil {
			t.Fatalf("test kernel lacks %s (scripts/setup.sh fetches it): %v", m, err)
		}
		dst := filepath.Join(fx.rootfs, "lib/modules", m+".ko")
		if _, err := os.Stat(dst); err == nil {
			continue // the fixture's guest loads it too (loop, virtio for liveiso.probe)
		}
		if err := testenv.CopyFile(src, dst, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

// The image of liveiso build --root squashfs boots from the CD (BIOS):
// liveiso's own init finds the medium, mounts the squashfs under an
// overlay and hands over to the rootfs's /init, which prints the marker.
func TestSquashfsRootBootsToMarker(t *testing.T) {
	t.Parallel()
	fx := newSquashfsFixture(t, "squashfs root "+time.Now().Format(time.RFC3339Nano))
	img := fx.build(t, "", "--root", "squashfs", "--init", "/init", "--boot", "bios")
	vm := testenv.StartVM(t, testenv.VMOptions{CDROM: img, NoReboot: true})
	if _, err := vm.WaitForLine(regexp.MustCompile(`liveiso-init: root file system ready`), bootTimeout); err != nil {
		vm.Fatalf(t, "liveiso's init did not mount the root: %v", err)
	}
	if _, err := vm.WaitForLine(markerLine(fx.marker), bootTimeout); err != nil {
		vm.Fatalf(t, "no marker: %v", err)
	}
	if err := vm.WaitExit(time.Minute); err != nil {
		vm.Fatalf(t, "guest did not power off: %v", err)
	}
	if out := vm.Console(); strings.Contains(out, "liveiso-init: ERROR") {
		t.Fatalf("the init reported an error:\n%s", out)
	}
}

// liveiso run --root squashfs: an edit of the rootfs makes a new
// generation whose squashfs holds it, and the reset boots it.
func TestSquashfsRunLoop(t *testing.T) {
	t.Parallel()
	fx := newSquashfsFixture(t, "squashfs loop before the edit")
	r := startRun(t, fx.runArgs(t, "--root", "squashfs", "--init", "/init")...)
	r.waitLine(t, markerLine(fx.marker))
	writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("squashfs loop after the edit\n"))
	r.waitLine(t, markerLine("squashfs loop after the edit"))
	r.waitStderr(t, regexp.MustCompile(`generation 2 ready in \d+ ms .*resetting the guest`))
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.wait(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status after SIGTERM: %d, want %d", code, 128+int(syscall.SIGTERM))
	}
}

// Bad input of --root squashfs is named before anything is built: a rootfs
// without the init to hand over to, a rootfs without a module the init
// needs.
func TestSquashfsBadInput(t *testing.T) {
	t.Parallel()
	fx := newSquashfsFixture(t, "bad input")
	out := filepath.Join(t.TempDir(), "image.iso")
	args := append([]string{"build", "-o", out}, fx.imageArgs(t, "")...)
	_, stderr, err := liveiso(t, append(args, "--root", "squashfs")...) // the fixture has /init, no /sbin/init
	if err == nil || !strings.Contains(stderr, "/sbin/init") || !strings.Contains(stderr, "--init") {
		t.Errorf("no /sbin/init: err %v, stderr:\n%s", err, stderr)
	}
	if err := os.Remove(filepath.Join(fx.rootfs, "lib/modules/squashfs.ko")); err != nil {
		t.Fatal(err)
	}
	_, stderr, err = liveiso(t, append(args, "--root", "squashfs", "--init", "/init")...)
	if err == nil || !strings.Contains(stderr, "kernel module missing: squashfs") {
		t.Errorf("no squashfs module: err %v, stderr:\n%s", err, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("an image was written despite the errors")
	}
	_, stderr, err = liveiso(t, append([]string{"run", "--direct", "--root", "squashfs"}, fx.imageArgs(t, "")...)...)
	if err == nil || !strings.Contains(stderr, "--direct boots without the medium") {
		t.Errorf("run --direct --root squashfs: err %v, stderr:\n%s", err, stderr)
	}
}

// liveiso run --root squashfs --until boots the fixture to its marker from
// each medium: liveiso's own init finds the squashfs on the CD under BIOS
// and UEFI, and on a disk.
func TestSquashfsRunUntil(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"uefi-cd", []string{"--firmware", "uefi"}},
		{"bios-disk", []string{"--medium", "disk"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newSquashfsFixture(t, "squashfs run "+tc.name)
			args := fx.runArgs(t, append([]string{"--root", "squashfs", "--init", "/init",
				"--until", "^" + regexp.QuoteMeta(testenv.MarkerPrefix+fx.marker) + "$", "--timeout", "600"}, tc.args...)...)
			r := startRun(t, args...)
			if code := r.wait(t); code != 0 {
				t.Fatalf("exit status %d, want 0\nstderr:\n%s\nconsole:\n%s", code, r.stderr.String(), lastLines(r.stdout.String(), testenv.ConsoleTailLines))
			}
			if !strings.Contains(r.stdout.String(), "liveiso-init: root file system ready") {
				t.Errorf("the console lacks liveiso's init:\n%s", lastLines(r.stdout.String(), testenv.ConsoleTailLines))
			}
		})
	}
}

// liveiso mount --root squashfs serves MOUNTPOINT/filesystem.squashfs,
// which unsquashfs reads, and an edit of the rootfs shows in the next
// generation's squashfs.
func TestSquashfsMountServesSquashfs(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("unsquashfs"); err != nil {
		t.Fatal("unsquashfs is not installed (scripts/setup.sh installs squashfs-tools)")
	}
	fx := newSquashfsFixture(t, "squashfs mount before")
	m := startMount(t, fx, "", "", "", "--root", "squashfs", "--init", "/init")
	sq := filepath.Join(m.dir, "filesystem.squashfs")
	cat := func() string {
		t.Helper()
		out, err := exec.Command("unsquashfs", "-cat", sq, "etc/marker").CombinedOutput()
		if err != nil {
			t.Fatalf("unsquashfs -cat %s etc/marker: %v\n%s", sq, err, out)
		}
		return string(out)
	}
	if got := cat(); got != fx.marker+"\n" {
		t.Fatalf("etc/marker in the squashfs: %q", got)
	}
	st, _ := m.status()
	writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("squashfs mount after\n"))
	m.waitNext(t, st.Generation)
	if got := cat(); got != "squashfs mount after\n" {
		t.Fatalf("etc/marker in the squashfs after the edit: %q", got)
	}
}
