package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// The liveiso binary under test, built once per test run.
var liveisoBin = sync.OnceValues(func() (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "liveiso-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "liveiso")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/liveiso")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return bin, nil
})

// liveiso runs the binary with args and returns its stdout and stderr.
func liveiso(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	bin, err := liveisoBin()
	if err != nil {
		t.Fatalf("build liveiso: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.String(), stderr.String(), err
}

// fixture is a busybox rootfs with its marker and the test kernel.
type fixture struct {
	rootfs, kernel, marker string
}

func newFixture(t *testing.T, marker string) fixture {
	t.Helper()
	k, err := testenv.Kernel()
	if err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := testenv.BuildBusyboxRootfs(rootfs, marker); err != nil {
		t.Fatal(err)
	}
	return fixture{rootfs: rootfs, kernel: k.Vmlinuz, marker: marker}
}

// imageArgs are the options that make an image of fx booting with the
// harness's kernel arguments plus appendArgs.
func (fx fixture) imageArgs(t *testing.T, appendArgs string) []string {
	return []string{
		"--rootfs", fx.rootfs,
		"--kernel", fx.kernel,
		"--append", strings.TrimSpace(testenv.KernelArgs + " " + appendArgs),
		"--cache-dir", filepath.Join(t.TempDir(), "cache"),
	}
}

// build runs liveiso build and returns the image's path.
func (fx fixture) build(t *testing.T, appendArgs string, more ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image.iso")
	args := append([]string{"build", "-o", out}, fx.imageArgs(t, appendArgs)...)
	stdout, stderr, err := liveiso(t, append(args, more...)...)
	if err != nil {
		t.Fatalf("liveiso %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	t.Logf("liveiso build: %s", strings.TrimSpace(stdout))
	return out
}

// bootToMarker boots the VM options and waits for the marker line.
func bootToMarker(t *testing.T, opts testenv.VMOptions, marker string) *testenv.VM {
	t.Helper()
	start := time.Now()
	vm := testenv.StartVM(t, opts)
	if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
		t.Fatal(err)
	}
	t.Logf("marker %q after %v", marker, time.Since(start).Round(time.Millisecond))
	return vm
}
