// Package procfs reads what the tests and the benchmark measure of a
// process from /proc: its memory figures and the files it holds open.
package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// StatusBytes is a "kB" field of /proc/PID/status (VmRSS, VmHWM, ...) in
// bytes.
func StatusBytes(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// OpenFDs counts this process's file descriptors open on the file at path
// (the same device and inode).
func OpenFDs(path string) (int, error) {
	var want syscall.Stat_t
	if err := syscall.Stat(path, &want); err != nil {
		return 0, err
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc/self/fd", e.Name()), &st) == nil && st.Dev == want.Dev && st.Ino == want.Ino {
			n++
		}
	}
	return n, nil
}

// OpenFDsUnder counts this process's file descriptors open on files whose
// names are below the directory dir.
func OpenFDsUnder(dir string) (int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
	}
	return n, nil
}
