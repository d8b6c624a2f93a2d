package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// openers are the two ways OpenBeneath resolves a path: openat2, and the
// walk used on kernels without it. Each is tested on its own.
func openers(t *testing.T) map[string]func(int, string, int) (int, error) {
	t.Helper()
	fd, err := openat2Beneath(unix.AT_FDCWD, ".", unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		t.Fatalf("openat2 on this kernel: %v (the walk alone would be tested)", err)
	}
	unix.Close(fd)
	return map[string]func(int, string, int) (int, error){
		"openat2": func(dirfd int, rel string, flags int) (int, error) {
			if err := checkRel(rel); err != nil {
				return -1, err
			}
			return openat2Beneath(dirfd, rel, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC)
		},
		"walk": func(dirfd int, rel string, flags int) (int, error) {
			if err := checkRel(rel); err != nil {
				return -1, err
			}
			return openWalk(dirfd, rel, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC)
		},
	}
}

func openRootFD(t *testing.T, root string) int {
	t.Helper()
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func fdStat(t *testing.T, fd int) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func lstatIno(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestOpenBeneathPaths(t *testing.T) {
	root := t.TempDir()
	build(t, root, "d a/b\nf a/b/f ok")
	rfd := openRootFD(t, root)
	for name, open := range openers(t) {
		for rel, want := range map[string]string{".": root, "a": root + "/a", "a/b/f": root + "/a/b/f"} {
			fd, err := open(rfd, rel, unix.O_PATH)
			if err != nil {
				t.Errorf("%s: open %q: %v", name, rel, err)
				continue
			}
			if got := fdStat(t, fd).Ino; got != lstatIno(t, want) {
				t.Errorf("%s: open %q gave inode %d, want that of %s", name, rel, got, want)
			}
			unix.Close(fd)
		}
		for _, rel := range []string{"", "/etc/passwd", "../x", "a/../a/b/f", "a//b/f", "a/./b/f", "a/b/f/"} {
			if fd, err := open(rfd, rel, unix.O_RDONLY); !errors.Is(err, unix.EXDEV) {
				if err == nil {
					unix.Close(fd)
				}
				t.Errorf("%s: open %q = %v, want EXDEV", name, rel, err)
			}
		}
	}
}

// TestOpenBeneathSymlinkInEveryComponent replaces each component of
// a/b/c/file in turn with a symlink (to the same path outside the root,
// absolute and relative, and to the original inside) and opens every path
// through it: each open fails with ELOOP or ENOTDIR, except that O_PATH of
// the link itself yields the link.
func TestOpenBeneathSymlinkInEveryComponent(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	build(t, root, "d a/b/c\nf a/b/c/file inside")
	build(t, outside, "d a/b/c\nf a/b/c/file OUTSIDE")
	rfd := openRootFD(t, root)
	parts := strings.Split("a/b/c/file", "/")
	for name, open := range openers(t) {
		for i := range parts {
			comp := strings.Join(parts[:i+1], "/")
			p := filepath.Join(root, comp)
			rel, err := filepath.Rel(filepath.Dir(p), filepath.Join(outside, comp))
			if err != nil {
				t.Fatal(err)
			}
			for _, target := range []string{filepath.Join(outside, comp), rel, parts[i] + ".orig"} {
				if err := os.Rename(p, p+".orig"); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
				for j := i; j < len(parts); j++ {
					path := strings.Join(parts[:j+1], "/")
					for _, flags := range []int{unix.O_RDONLY, unix.O_PATH} {
						fd, err := open(rfd, path, flags)
						if err == nil {
							st := fdStat(t, fd)
							unix.Close(fd)
							if flags == unix.O_PATH && j == i && st.Mode&unix.S_IFMT == unix.S_IFLNK {
								continue // the link itself, not what it points to
							}
							t.Errorf("%s: %s -> %s: open %s (flags %#x) succeeded, mode %#o", name, comp, target, path, flags, st.Mode)
							continue
						}
						if !errors.Is(err, unix.ELOOP) && !errors.Is(err, unix.ENOTDIR) {
							t.Errorf("%s: %s -> %s: open %s = %v, want ELOOP or ENOTDIR", name, comp, target, path, err)
						}
					}
				}
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(p+".orig", p); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestOpenBeneathSwapRace exchanges a directory component (first, then a
// middle one) with a symlink to the same path outside while opens run: an
// open either fails or opens the file inside; nothing outside is opened.
func TestOpenBeneathSwapRace(t *testing.T) {
	for _, comp := range []string{"a", "a/b"} {
		root, outside := t.TempDir(), t.TempDir()
		build(t, root, "d a/b/c\nf a/b/c/file inside")
		build(t, outside, "d a/b/c\nf a/b/c/file OUTSIDE")
		swap := filepath.Join(root, filepath.Dir(comp), "swap")
		if err := os.Symlink(filepath.Join(outside, comp), swap); err != nil {
			t.Fatal(err)
		}
		inside := lstatIno(t, filepath.Join(root, "a/b/c/file"))
		rfd := openRootFD(t, root)
		for name, open := range openers(t) {
			var stop atomic.Bool
			var swaps atomic.Int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				dir := filepath.Join(root, comp)
				for !stop.Load() {
					if err := unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, swap, unix.RENAME_EXCHANGE); err != nil {
						t.Errorf("swap: %v", err)
						return
					}
					swaps.Add(1)
				}
			}()
			var opened, refused int
			for range 3000 {
				fd, err := open(rfd, "a/b/c/file", unix.O_RDONLY)
				if err != nil {
					refused++
					continue
				}
				st := fdStat(t, fd)
				buf := make([]byte, 16)
				n, _ := unix.Read(fd, buf)
				unix.Close(fd)
				if st.Ino != inside || string(buf[:n]) != "inside" {
					stop.Store(true)
					wg.Wait()
					t.Fatalf("%s, %s swapped: opened inode %d reading %q, not the file inside (inode %d)", name, comp, st.Ino, buf[:n], inside)
				}
				opened++
			}
			stop.Store(true)
			wg.Wait()
			t.Logf("%s, %s swapped: %d swaps, %d opens succeeded, %d refused", name, comp, swaps.Load(), opened, refused)
			if swaps.Load() == 0 {
				t.Errorf("%s: no swap happened: the race was not exercised", name)
			}
			// Leave the tree as it was for the next opener.
			var st unix.Stat_t
			if unix.Lstat(filepath.Join(root, comp), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				if err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(root, comp), unix.AT_FDCWD, swap, unix.RENAME_EXCHANGE); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
