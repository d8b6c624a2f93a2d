package vfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// prepareMountpoint checks that mountpoint can take a new mount and returns
// its absolute path with symlinks resolved (as /proc/self/mountinfo names it).
// A stale FUSE mount there, whose daemon died (stat fails with ENOTCONN), is
// detached; a live mount is an error wrapping ErrBusy.
func prepareMountpoint(mountpoint string, log *slog.Logger) (string, error) {
	abs, err := filepath.Abs(mountpoint)
	if err != nil {
		return "", fmt.Errorf("mount point %s: %w", mountpoint, err)
	}
	// Mounts stack: a killed daemon may have left more than one.
	const maxStale = 8
	for cleared := 0; ; cleared++ {
		fi, err := os.Stat(abs)
		switch {
		case errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED):
			if cleared == maxStale {
				return "", fmt.Errorf("mount point %s: still stale after detaching %d mounts: %w", abs, cleared, err)
			}
			log.Warn("detaching a stale FUSE mount left by a daemon that died", "mountpoint", abs)
			if err := lazyUnmount(abs); err != nil {
				return "", fmt.Errorf("mount point %s: detach stale mount: %w", abs, err)
			}
			continue
		case errors.Is(err, iofs.ErrNotExist):
			return "", fmt.Errorf("mount point %s does not exist: %w", abs, err)
		case err != nil:
			return "", fmt.Errorf("mount point %s: %w", abs, err)
		case !fi.IsDir():
			return "", fmt.Errorf("mount point %s is not a directory: %w", abs, syscall.ENOTDIR)
		}
		break
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	m, err := findMount(abs)
	if err != nil {
		return "", err
	}
	if m != nil {
		return "", fmt.Errorf("%w: %s is already a mount point (%s from %s)", ErrBusy, abs, m.fsType, m.source)
	}
	return abs, nil
}

// lazyUnmount detaches the mount at path (umount -l): it leaves the name space
// at once and is torn down when nothing uses it any more.
func lazyUnmount(path string) error {
	var msgs []string
	for _, bin := range []string{"fusermount3", "fusermount"} {
		if _, err := exec.LookPath(bin); err != nil {
			continue
		}
		out, err := exec.Command(bin, "-u", "-z", path).CombinedOutput()
		if err == nil {
			return nil
		}
		msgs = append(msgs, fmt.Sprintf("%s -u -z: %v: %s", bin, err, bytes.TrimSpace(out)))
		break
	}
	// fusermount only unmounts FUSE mounts of the calling user; root can
	// detach anything.
	err := syscall.Unmount(path, syscall.MNT_DETACH)
	if err == nil {
		return nil
	}
	msgs = append(msgs, fmt.Sprintf("umount2(MNT_DETACH): %v", err))
	return errors.New(strings.Join(msgs, "; "))
}

// IsMounted reports whether path is the mount point of a mounted file
// system, according to /proc/self/mountinfo. It does not touch the mount
// itself, so it works on a FUSE mount whose server died.
func IsMounted(path string) (bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, err
	}
	m, err := findMount(abs)
	return m != nil, err
}

// mountEntry is the part of a /proc/self/mountinfo line we report.
type mountEntry struct {
	fsType, source string
}

// findMount returns the topmost mount at path, or nil if path is not a mount
// point.
func findMount(path string) (*mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("check mount point %s: %w", path, err)
	}
	defer f.Close()
	var found *mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		// proc(5): id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || unescapeMountinfo(fields[4]) != path {
			continue
		}
		m := &mountEntry{fsType: "?", source: "?"}
		for i, f := range fields {
			if f == "-" && i+2 < len(fields) {
				m.fsType, m.source = fields[i+1], unescapeMountinfo(fields[i+2])
				break
			}
		}
		found = m
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("check mount point %s: read mountinfo: %w", path, err)
	}
	return found, nil
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space, \011,
// \012, \134) in a mountinfo path.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
