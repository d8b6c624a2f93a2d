package generation

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKernelFile(t *testing.T) {
	root := t.TempDir()
	if _, err := KernelFile(Options{Rootfs: root}); !errors.Is(err, ErrNoKernel) || !strings.Contains(err.Error(), filepath.Join(root, "boot")) {
		t.Errorf("no kernel: %v, want ErrNoKernel naming %s/boot", err, root)
	}
	if err := os.MkdirAll(filepath.Join(root, "boot"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vmlinuz-6.1.0-9-amd64", "vmlinuz-6.1.0-10-amd64"} {
		if err := os.WriteFile(filepath.Join(root, "boot", name), []byte("k"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := KernelFile(Options{Rootfs: root})
	if want := filepath.Join(root, "boot/vmlinuz-6.1.0-10-amd64"); err != nil || got != want {
		t.Errorf("KernelFile = %q, %v; want %q", got, err, want)
	}
	explicit := filepath.Join(root, "boot/vmlinuz-6.1.0-9-amd64")
	if got, err := KernelFile(Options{Rootfs: root, Kernel: explicit}); err != nil || got != explicit {
		t.Errorf("KernelFile with --kernel = %q, %v", got, err)
	}
	if _, err := KernelFile(Options{Rootfs: root, Kernel: filepath.Join(root, "boot")}); err == nil {
		t.Error("a directory as --kernel: no error")
	}
}
