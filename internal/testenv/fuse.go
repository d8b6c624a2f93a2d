package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liveiso/liveiso/vfs"
)

// IsMounted reports whether mountpoint is the mount point of a mounted file
// system (see vfs.IsMounted, which the daemon uses for the same question).
func IsMounted(mountpoint string) (bool, error) { return vfs.IsMounted(mountpoint) }

// Unmount unmounts a FUSE file system at mountpoint: fusermount3 -u, and if
// that fails (the mount is busy, or its server is gone) the lazy
// fusermount3 -uz, and last umount -l. Nothing mounted is not an error.
func Unmount(mountpoint string) error {
	var errs []error
	for _, cmd := range [][]string{
		{"fusermount3", "-u", mountpoint},
		{"fusermount3", "-uz", mountpoint},
		{"umount", "-l", mountpoint},
	} {
		mounted, err := IsMounted(mountpoint)
		if err != nil {
			return err
		}
		if !mounted {
			return nil
		}
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w: %s", strings.Join(cmd, " "), err, strings.TrimSpace(string(out))))
		}
	}
	mounted, err := IsMounted(mountpoint)
	if err != nil {
		return err
	}
	if mounted {
		return fmt.Errorf("unmount %s: still mounted: %w", mountpoint, errors.Join(errs...))
	}
	return nil
}

// CleanupUnmount makes sure that mountpoint is not mounted when the test
// ends, passed or failed. Register it after creating the mountpoint (for
// example with t.TempDir), so it runs before the directory is removed.
func CleanupUnmount(t testing.TB, mountpoint string) {
	t.Helper()
	t.Cleanup(func() {
		mounted, err := IsMounted(mountpoint)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		if !mounted {
			return
		}
		if err := Unmount(mountpoint); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// KillDaemon SIGKILLs a liveiso daemon that serves mountpoint and waits for
// it to exit. A daemon killed while go-fuse's mount check holds a file of
// its own mount open (fuse.Server.WaitMount's poll hack opens
// .go-fuse-epoll-hack right after the mount) cannot exit: on its way out
// the kernel flushes that file through the FUSE server, which is the dying
// process itself. After grace, KillDaemon aborts the mount's FUSE
// connection (fusectl), which lets it go, and reports that it had to.
func KillDaemon(cmd *exec.Cmd, mountpoint string, grace time.Duration) (aborted bool, err error) {
	cmd.Process.Kill()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
		return false, nil
	case <-time.After(grace):
	}
	if err := abortFUSE(mountpoint); err != nil {
		return true, err
	}
	select {
	case <-done:
		return true, nil
	case <-time.After(grace):
		return true, fmt.Errorf("pid %d did not exit after its FUSE connection was aborted", cmd.Process.Pid)
	}
}

// abortFUSE aborts the FUSE connection of the file system mounted on
// mountpoint: /sys/fs/fuse/connections/MINOR/abort, MINOR being the minor
// device number /proc/self/mountinfo gives the mount.
func abortFUSE(mountpoint string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[4] != mountpoint {
			continue
		}
		_, minor, ok := strings.Cut(f[2], ":")
		if !ok {
			return fmt.Errorf("mountinfo: device %q of %s", f[2], mountpoint)
		}
		const conns = "/sys/fs/fuse/connections"
		abort := filepath.Join(conns, minor, "abort")
		if _, err := os.Stat(abort); err != nil {
			// fusectl is not mounted on every machine.
			if err := syscall.Mount("fusectl", conns, "fusectl", 0, ""); err != nil && err != syscall.EBUSY {
				return fmt.Errorf("mount fusectl on %s: %w", conns, err)
			}
		}
		return os.WriteFile(abort, []byte("1"), 0o200)
	}
	return fmt.Errorf("%s is not mounted", mountpoint)
}
