package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// What the soak measures besides the daemon's own figures: a whole initrd
// in each image, the store's size on disk, CPU time, the daemon's log.

// logInt is the integer value of key in a line of slog's text format, 0
// if it has none.
func logInt(line, key string) int64 {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// writeReplacing writes data to a new file and renames it over path, as an
// editor does.
func writeReplacing(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// InitrdUnpacks checks that image holds a whole /isolinux/initrd.img: it
// extracts it with xorriso and lists it with the host's gzip or zstd and
// cpio. scratch holds the extracted file for the while.
func InitrdUnpacks(ctx context.Context, image, scratch string) error {
	dir, err := os.MkdirTemp(scratch, "initrd")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	initrd := filepath.Join(dir, "initrd.img")
	if out, err := exec.CommandContext(ctx, "xorriso", "-abort_on", "FAILURE", "-osirrox", "on", "-indev", image,
		"-extract", "/isolinux/initrd.img", initrd).CombinedOutput(); err != nil {
		return fmt.Errorf("xorriso -extract /isolinux/initrd.img: %v\n%s", err, lastLinesOf(out, 10))
	}
	head := make([]byte, 4)
	f, err := os.Open(initrd)
	if err != nil {
		return err
	}
	_, err = f.Read(head)
	f.Close()
	if err != nil {
		return err
	}
	decompress := "gzip -dc"
	if bytes.Equal(head, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		decompress = "zstd -dc"
	}
	out, err := exec.CommandContext(ctx, "sh", "-c", decompress+" <'"+initrd+"' | cpio -it --quiet >/dev/null").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s | cpio -it: %v\n%s", decompress, err, lastLinesOf(out, 10))
	}
	return nil
}

// dirBytes is the size of the files under dir, each inode once (the cache's
// pins are hard links to its members).
func dirBytes(dir string) (int64, error) {
	seen := map[uint64]bool{}
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed by a trim while walked
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		n += fi.Size()
		return nil
	})
	return n, err
}

// CPUSeconds is the user plus system CPU time of process pid so far, from
// /proc/PID/stat.
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count the fields after its closing one.
	_, rest, ok := bytes.Cut(b, []byte(") "))
	if !ok {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return float64(utime+stime) / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture liveiso runs on (sysconf(_SC_CLK_TCK)).
const clockTicks = 100

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	return lastLinesOf(b, n)
}

func lastLinesOf(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
