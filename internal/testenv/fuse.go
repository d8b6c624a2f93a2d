package testenv

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

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
