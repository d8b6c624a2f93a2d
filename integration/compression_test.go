package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// Magic numbers of the initrd's first member.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// extractInitrd copies /isolinux/initrd.img out of an image with xorriso.
func extractInitrd(t *testing.T, img string) string {
	t.Helper()
	initrd := filepath.Join(t.TempDir(), "initrd.img")
	tool(t, "xorriso", "-abort_on", "FAILURE", "-osirrox", "on", "-indev", img, "-extract", "/isolinux/initrd.img", initrd)
	return initrd
}

// hostDecompressor is the host tool that reads the initrd: gzip -dc or
// zstd -dc, by the magic of its first member (--compression auto may have
// chosen either).
func hostDecompressor(t *testing.T, initrd string) string {
	t.Helper()
	b := readFile(t, initrd)
	switch {
	case bytes.HasPrefix(b, gzipMagic):
		return "gzip -dc"
	case bytes.HasPrefix(b, zstdMagic):
		return "zstd -dc"
	}
	t.Fatalf("%s starts % x: neither gzip nor zstd", initrd, b[:min(8, len(b))])
	return ""
}

// fixtureKernelWithConfig is the test kernel, with its config-RELEASE
// beside it.
func fixtureKernelWithConfig(t *testing.T) testenv.TestKernel {
	t.Helper()
	k, err := testenv.Kernel()
	if err != nil {
		t.Fatal(err)
	}
	if k.Config == "" {
		t.Fatalf("the fixture kernel in %s has no config-%s beside it (a fixture made before scripts/setup.sh kept it): rerun scripts/setup.sh", filepath.Dir(k.Vmlinuz), k.Release)
	}
	return k
}

// checkInitrd checks that the image's initrd is compressed with magic.
func checkInitrd(t *testing.T, img string, magic []byte, name string) {
	t.Helper()
	b := readFile(t, extractInitrd(t, img))
	if !bytes.HasPrefix(b, magic) {
		t.Errorf("the initrd starts % x, want %s (% x)", b[:min(8, len(b))], name, magic)
	}
}

// The default build of the fixture, its config-RELEASE beside the kernel,
// is zstd, says why, and boots.
func TestCompressionAutoZstdBoots(t *testing.T) {
	t.Parallel()
	k := fixtureKernelWithConfig(t)
	fx := newFixture(t, "auto zstd "+time.Now().Format(time.RFC3339Nano))
	out := filepath.Join(t.TempDir(), "image.iso")
	stdout, stderr, err := liveiso(t, append([]string{"build", "-o", out}, fx.imageArgs(t, "")...)...)
	if err != nil {
		t.Fatalf("liveiso build: %v\n%s%s", err, stdout, stderr)
	}
	if want := "zstd (CONFIG_RD_ZSTD=y in " + k.Config + " beside the kernel)"; !strings.Contains(stdout, want) {
		t.Errorf("summary line %q does not say %q", stdout, want)
	}
	if !strings.Contains(stderr, `msg="initrd compression" compression=zstd`) {
		t.Errorf("the log does not give the choice:\n%s", stderr)
	}
	checkInitrd(t, out, zstdMagic, "zstd")
	vm := bootToMarker(t, testenv.VMOptions{CDROM: out, NoReboot: true}, fx.marker)
	if err := vm.WaitExit(time.Minute); err != nil {
		vm.Fatalf(t, "guest did not power off: %v", err)
	}
}

// Without a configuration to read (the Debian kernel has no IKCONFIG, and
// its payload is xz), the default is gzip, one log line says why and how to
// choose, and the image boots.
func TestCompressionAutoGzipWithoutConfigBoots(t *testing.T) {
	t.Parallel()
	k, err := testenv.Kernel()
	if err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t, "auto gzip "+time.Now().Format(time.RFC3339Nano))
	fx.kernel = filepath.Join(t.TempDir(), "vmlinuz") // alone in its directory
	if err := os.WriteFile(fx.kernel, readFile(t, k.Vmlinuz), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.iso")
	stdout, stderr, err := liveiso(t, append([]string{"build", "-o", out}, fx.imageArgs(t, "")...)...)
	if err != nil {
		t.Fatalf("liveiso build: %v\n%s%s", err, stdout, stderr)
	}
	if want := "gzip (no config-" + k.Release + " found for the kernel)"; !strings.Contains(stdout, want) {
		t.Errorf("summary line %q does not say %q", stdout, want)
	}
	var lines []string
	for l := range strings.Lines(stderr) {
		if strings.Contains(l, `msg="initrd compression"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "compression=gzip") || !strings.Contains(lines[0], "xz") ||
		!strings.Contains(lines[0], "--kernel-config FILE") || !strings.Contains(lines[0], "--compression zstd") {
		t.Errorf("want one log line with gzip, why (xz payload) and how to choose; got:\n%s", stderr)
	}
	checkInitrd(t, out, gzipMagic, "gzip")
	vm := bootToMarker(t, testenv.VMOptions{CDROM: out, NoReboot: true}, fx.marker)
	if err := vm.WaitExit(time.Minute); err != nil {
		vm.Fatalf(t, "guest did not power off: %v", err)
	}
}

// --compression gzip wins over what the configuration beside the kernel
// would choose; --kernel-config names the configuration to read.
func TestCompressionExplicitWinsOverAuto(t *testing.T) {
	t.Parallel()
	k := fixtureKernelWithConfig(t)
	fx := newFixture(t, "explicit")
	out := filepath.Join(t.TempDir(), "image.iso")
	stdout, stderr, err := liveiso(t, append([]string{"build", "-o", out, "--compression", "gzip"}, fx.imageArgs(t, "")...)...)
	if err != nil {
		t.Fatalf("liveiso build: %v\n%s%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "gzip (--compression gzip)") {
		t.Errorf("summary line %q does not say gzip (--compression gzip)", stdout)
	}
	checkInitrd(t, out, gzipMagic, "gzip")

	// A kernel alone in its directory, its configuration named.
	fx.kernel = filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(fx.kernel, readFile(t, k.Vmlinuz), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err = liveiso(t, append([]string{"build", "-o", out, "--kernel-config", k.Config}, fx.imageArgs(t, "")...)...)
	if err != nil {
		t.Fatalf("liveiso build --kernel-config: %v\n%s%s", err, stdout, stderr)
	}
	if want := "zstd (CONFIG_RD_ZSTD=y in --kernel-config " + k.Config + ")"; !strings.Contains(stdout, want) {
		t.Errorf("summary line %q does not say %q", stdout, want)
	}
	checkInitrd(t, out, zstdMagic, "zstd")

	// A --kernel-config that does not exist is an error, not a quiet gzip.
	_, stderr, err = liveiso(t, append([]string{"build", "-o", out, "--kernel-config", k.Config + ".missing"}, fx.imageArgs(t, "")...)...)
	if err == nil || !strings.Contains(stderr, k.Config+".missing") {
		t.Errorf("--kernel-config of a missing file: err %v, stderr %q; want an error naming it", err, stderr)
	}
}

// status.json of a live mount says which compression auto chose and why.
func TestCompressionInStatus(t *testing.T) {
	t.Parallel()
	k := fixtureKernelWithConfig(t)
	fx := newFixture(t, "status")
	m := startMount(t, fx, "", "", "")
	s, ok := m.status()
	if !ok {
		t.Fatal("no status.json")
	}
	if s.Compression != "zstd" || !strings.Contains(s.CompressionReason, k.Config) {
		t.Errorf("status.json compression %q, reason %q; want zstd because of %s", s.Compression, s.CompressionReason, k.Config)
	}
	stdout, stderr, err := liveiso(t, "status", m.dir)
	if err != nil || !strings.Contains(stdout, "compression: zstd (CONFIG_RD_ZSTD=y in "+k.Config) {
		t.Errorf("liveiso status does not name the compression: %v\n%s%s", err, stdout, stderr)
	}
	initrd := filepath.Join(m.dir, "initrd.img")
	out, err := exec.Command("sh", "-c", hostDecompressor(t, initrd)+" < '"+initrd+"' | cpio -it --quiet").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "etc/marker") {
		t.Errorf("MOUNTPOINT/initrd.img does not list etc/marker with the host's tools: %v\n%s", err, out)
	}
}
