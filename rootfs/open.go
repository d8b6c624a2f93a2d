package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Open opens a regular file of the tree for reading, relative to an fd of
// the root, never following a symlink in any component (OpenBeneath), and
// checks that it is still the file the scan saw (dev/ino); a mismatch, or a
// path that no longer leads to a regular file, is an error wrapping
// ErrChanged.
//
// Open holds no fd between calls: it opens the root each time (and checks
// that the root is still the directory scanned), so a Tree needs no Close
// and stays usable for as long as anything refers to it. A run of opens
// (a chunk's files) goes through an Opener, which opens the root once.
//
// The file is first opened with O_PATH and checked before it is opened for
// reading (through /proc/self/fd), so a FIFO or device node swapped in for
// the file is never opened for reading, which could block or have effects.
func (t *Tree) Open(e *Entry) (*os.File, error) {
	o, err := t.Opener()
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return o.Open(e)
}

// An Opener opens files of its Tree beneath one fd of the root, opened and
// checked when the Opener is made; Close it when the run of opens is done.
type Opener struct {
	t      *Tree
	rootfd int
}

// Opener opens the root for a run of Opens.
func (t *Tree) Opener() (*Opener, error) {
	fd, err := t.openRoot()
	if err != nil {
		return nil, err
	}
	return &Opener{t: t, rootfd: fd}, nil
}

// Close closes the root's fd; files opened stay open.
func (o *Opener) Close() error { return unix.Close(o.rootfd) }

// Open is Tree.Open beneath the Opener's root.
func (o *Opener) Open(e *Entry) (*os.File, error) {
	name := o.t.abs(e.Path)
	if e.Mode&sIFMT != sIFREG {
		return nil, fmt.Errorf("open %s: %w", name, ErrNotRegular)
	}
	pfd, err := OpenBeneath(o.rootfd, e.Path, unix.O_PATH)
	if err != nil {
		return nil, openError(name, err)
	}
	defer unix.Close(pfd)
	if err := checkFile(pfd, e, name); err != nil {
		return nil, err
	}
	// The magic link reopens the inode pfd holds, which was just checked.
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) { // no /proc: open directly, without blocking on a FIFO, and check again
		fd, err = OpenBeneath(o.rootfd, e.Path, unix.O_RDONLY|unix.O_NONBLOCK)
		if err == nil {
			if err := checkFile(fd, e, name); err != nil {
				unix.Close(fd)
				return nil, err
			}
		}
	}
	if err != nil {
		return nil, openError(name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

func (t *Tree) abs(rel string) string {
	if rel == "." {
		return t.Root
	}
	return t.Root + "/" + rel
}

// openRoot opens the root as a path fd and checks it is the scanned one.
func (t *Tree) openRoot() (int, error) {
	t.mustLive()
	fd, err := unix.Open(t.Root, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("rootfs %s: %w: %w", t.Root, ErrChanged, err)
	}
	if err := checkFile(fd, &t.entries[0], t.Root); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func checkFile(fd int, e *Entry, name string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	if !sameFile(&st, e) {
		return fmt.Errorf("open %s: %w: now inode %d:%d mode %#o, scanned %d:%d mode %#o",
			name, ErrChanged, st.Dev, st.Ino, st.Mode, e.Dev, e.Ino, e.Mode)
	}
	return nil
}

// openError classifies a failed open of a scanned path: a symlink or a
// non-directory in the way, or the file gone, means the tree changed.
func openError(name string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ENOENT):
		return fmt.Errorf("open %s: %w: %w", name, ErrChanged, err)
	}
	return fmt.Errorf("open %s: %w", name, err)
}
