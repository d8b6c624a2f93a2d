package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processLeftovers lists what the process pid left in the cache directory:
// its lock file (procs/PID-….lock) and its pin directory (pins/PID-…/).
// Both go when its store closes, after the last generation is let go of.
func processLeftovers(t *testing.T, cacheDir string, pid int) []string {
	t.Helper()
	var left []string
	prefix := strconv.Itoa(pid) + "-"
	for _, sub := range []string{"procs", "pins"} {
		ents, err := os.ReadDir(filepath.Join(cacheDir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), prefix) {
				left = append(left, filepath.Join(sub, e.Name()))
			}
		}
	}
	return left
}

// interrupt sends SIGINT (a user's Ctrl-C) and waits for the exit.
func interrupt(t *testing.T, name string, pid int, exited <-chan struct{}) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not exit 30 s after SIGINT", name)
	}
}

// serve and mount --listen let go of every generation when they exit on
// Ctrl-C, the ones HTTP keeps too, so their lock and pins leave the cache
// directory with them (and the exit-time trim runs), as mount's do
// (TestCacheSharedByMountAndBuilds).
func TestServeAndListenLeaveNoPins(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "no pins left")
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, cacheDir string) (pid int, exited <-chan struct{}, status func() uint64)
	}{
		{"serve", func(t *testing.T, cacheDir string) (int, <-chan struct{}, func() uint64) {
			s := startServe(t, fx, "", "--cache-dir", cacheDir)
			return s.cmd.Process.Pid, s.exited, func() uint64 { return s.status(t).Generation }
		}},
		{"mount --listen", func(t *testing.T, cacheDir string) (int, <-chan struct{}, func() uint64) {
			m := startMount(t, fx, "", "", cacheDir, "--listen", "127.0.0.1:0")
			return m.cmd.Process.Pid, m.exited, func() uint64 { st, _ := m.status(); return st.Generation }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cacheDir := filepath.Join(t.TempDir(), "cache")
			pid, exited, status := tc.start(t, cacheDir)
			// Two generations, so that HTTP keeps more than the current one.
			gen := status()
			writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte(tc.name+" edited\n"))
			deadline := time.Now().Add(2 * time.Minute)
			for status() <= gen {
				if time.Now().After(deadline) {
					t.Fatalf("no generation after %d within 2 minutes", gen)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if left := processLeftovers(t, cacheDir, pid); len(left) != 2 {
				t.Fatalf("while %s runs, the cache holds %q of it, want its lock and its pins", tc.name, left)
			}
			interrupt(t, tc.name, pid, exited)
			if left := processLeftovers(t, cacheDir, pid); len(left) != 0 {
				t.Errorf("after %s exited on SIGINT the cache still holds %q", tc.name, left)
			}
		})
	}
}

// serve logs the build's warnings as mount does, the boot files' too: a
// kernel that shim refuses "will not boot with Secure Boot enforcing".
func TestServeLogsBuildWarnings(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "warnings")
	// Not a PE image, so not signed: the warning of the boot files.
	fx.kernel = filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(fx.kernel, []byte(strings.Repeat("not a kernel ", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "will not boot with Secure Boot enforcing"
	s := startServe(t, fx, "", "--boot", "uefi", "--secure-boot", "on")
	if st := s.status(t); len(st.Warnings) == 0 {
		t.Fatalf("status.json has no warnings: %+v", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.logTail(200), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not say the kernel %q:\n%s", want, s.logTail(30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
