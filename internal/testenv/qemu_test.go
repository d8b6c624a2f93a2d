package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The monitor works when the VM's directory is too long for a Unix socket
// path, and Kill cleans up the socket's own directory. The VM is created
// paused (-S), so it costs no CPU.
func TestMonitorLongDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	vm, err := Start(dir, VMOptions{Args: []string{"-S"}})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Kill()
	if filepath.Dir(vm.monitorPath) == dir {
		t.Fatalf("monitor socket %s: want it outside the long directory", vm.monitorPath)
	}
	status, err := vm.Monitor("info status")
	if err != nil {
		t.Fatal(err)
	}
	if status != "VM status: paused (prelaunch)" {
		t.Errorf("info status: %q", status)
	}
	if err := vm.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(vm.monitorPath)); !os.IsNotExist(err) {
		t.Errorf("socket directory left behind: %v", err)
	}
	if !vm.Exited() {
		t.Error("qemu still running after Kill")
	}
}
