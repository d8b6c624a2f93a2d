package agent

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/rootfs"
)

// writeTree writes root (a file, a symlink or a directory and everything
// below it) as a tar archive: root itself is ".", what it holds is named
// relative to it. Symlinks are stored, never followed. Modes and
// modification times (to the nanosecond, PAX) are kept; owners are not.
// Device nodes, FIFOs and sockets are left out.
func writeTree(w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		var link string
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.IsDir(), fi.Mode().IsRegular():
		default:
			return nil
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name, h.Uname, h.Gname, h.Uid, h.Gid = filepath.ToSlash(rel), "", "", 0, 0
		h.Format = tar.FormatPAX
		h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.CopyN(tw, f, h.Size)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// ErrOutside means an archive named a path outside its destination.
var ErrOutside = errors.New("path outside the destination")

// extractTree makes dir/name from a tar archive that writeTree made: "."
// is dir/name itself. Whatever the archive holds, nothing is written
// outside dir/name: names that are absolute or hold ".." are refused,
// every path is opened below dir without following a symlink (a symlink
// the archive made is stored, never followed), and an existing file is
// replaced, not written through. Modes are kept but setuid and setgid
// bits; modification times are kept.
func extractTree(r io.Reader, dir, name string) error {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("extract into %s: bad name %q", dir, name)
	}
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("extract into %s: %w", dir, err)
	}
	defer unix.Close(dirfd)
	type dirTimes struct {
		rel   string
		mode  uint32
		mtime time.Time
	}
	var dirs []dirTimes
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("extract into %s: %w", dir, err)
		}
		rel, err := destName(name, h.Name)
		if err != nil {
			return fmt.Errorf("extract into %s: %w", dir, err)
		}
		parent, base := path.Split(rel)
		parent = strings.TrimSuffix(parent, "/")
		if parent == "" {
			parent = "."
		}
		pfd, err := rootfs.OpenBeneath(dirfd, parent, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return fmt.Errorf("extract %s into %s: %w", rel, dir, err)
		}
		err = extractOne(tr, h, pfd, base)
		unix.Close(pfd)
		if err != nil {
			return fmt.Errorf("extract %s into %s: %w", rel, dir, err)
		}
		if h.Typeflag == tar.TypeDir {
			dirs = append(dirs, dirTimes{rel, uint32(h.Mode) & 0o1777, h.ModTime})
		}
	}
	// Directories last, deepest first: writing into one changes its mtime.
	slices.Reverse(dirs)
	for _, d := range dirs {
		fd, err := rootfs.OpenBeneath(dirfd, d.rel, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return fmt.Errorf("extract %s into %s: %w", d.rel, dir, err)
		}
		err = unix.Fchmod(fd, d.mode)
		if err == nil {
			err = futimes(fd, d.mtime)
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("extract %s into %s: %w", d.rel, dir, err)
		}
	}
	return nil
}

// destName checks an archive's name and returns the path below the
// destination's directory.
func destName(name, entry string) (string, error) {
	clean := strings.TrimSuffix(strings.TrimPrefix(entry, "./"), "/")
	if clean == "." || clean == "" {
		return name, nil
	}
	if path.IsAbs(entry) || path.Clean(clean) != clean {
		return "", fmt.Errorf("%w: the archive names %q", ErrOutside, entry)
	}
	for _, p := range strings.Split(clean, "/") {
		if p == ".." {
			return "", fmt.Errorf("%w: the archive names %q", ErrOutside, entry)
		}
	}
	return name + "/" + clean, nil
}

// extractOne makes one entry as base in the directory pfd.
func extractOne(tr *tar.Reader, h *tar.Header, pfd int, base string) error {
	mode := uint32(h.Mode) & 0o1777
	switch h.Typeflag {
	case tar.TypeDir:
		err := unix.Mkdirat(pfd, base, 0o700)
		if errors.Is(err, unix.EEXIST) {
			var st unix.Stat_t
			if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return err
			}
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				return nil
			}
			if err := unix.Unlinkat(pfd, base, 0); err != nil {
				return err
			}
			err = unix.Mkdirat(pfd, base, 0o700)
		}
		return err
	case tar.TypeReg:
		fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, unix.EEXIST) {
			if err := unix.Unlinkat(pfd, base, 0); err != nil {
				return err
			}
			fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		}
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), base)
		_, err = io.Copy(f, tr)
		if err == nil {
			err = f.Chmod(fs.FileMode(mode&0o777) | unixModeBits(mode))
		}
		if err == nil {
			err = futimes(fd, h.ModTime)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case tar.TypeSymlink:
		err := unix.Symlinkat(h.Linkname, pfd, base)
		if errors.Is(err, unix.EEXIST) {
			if err := unix.Unlinkat(pfd, base, 0); err != nil {
				return err
			}
			err = unix.Symlinkat(h.Linkname, pfd, base)
		}
		if err != nil {
			return err
		}
		ts := []unix.Timespec{unix.NsecToTimespec(h.ModTime.UnixNano()), unix.NsecToTimespec(h.ModTime.UnixNano())}
		return unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	return fmt.Errorf("entry of type %q: only files, directories and symlinks are copied", h.Typeflag)
}

func unixModeBits(mode uint32) fs.FileMode {
	if mode&0o1000 != 0 {
		return fs.ModeSticky
	}
	return 0
}

// futimes sets the access and modification times of the file open as fd
// to mtime, to the nanosecond: utimensat(fd, NULL, ...), which x/sys/unix
// does not offer (its UtimesNanoAt takes a path).
func futimes(fd int, mtime time.Time) error {
	ts := unix.NsecToTimespec(mtime.UnixNano())
	times := [2]unix.Timespec{ts, ts}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&times[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
