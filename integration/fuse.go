package integration

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// IsMounted reports whether mountpoint is the mount point of a mounted file
// system, according to /proc/self/mountinfo. It does not touch the mount
// itself, so it works on a FUSE mount whose server died.
func IsMounted(mountpoint string) (bool, error) {
	abs, err := filepath.Abs(mountpoint)
	if err != nil {
		return false, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// proc(5): ID parentID major:minor root mountpoint options ...
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		if unescapeMountinfo(fields[4]) == abs {
			return true, nil
		}
	}
	return false, s.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for a space, ...) the
// kernel writes in mountinfo paths.
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

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
