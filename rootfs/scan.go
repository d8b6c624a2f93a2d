package rootfs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

const (
	sIFMT   = unix.S_IFMT
	sIFDIR  = unix.S_IFDIR
	sIFREG  = unix.S_IFREG
	sIFLNK  = unix.S_IFLNK
	sIFCHR  = unix.S_IFCHR
	sIFBLK  = unix.S_IFBLK
	sIFIFO  = unix.S_IFIFO
	sIFSOCK = unix.S_IFSOCK

	// raceRetries bounds how often an entry that changed type between its
	// lstat and its open/readlink is looked at again before the scan gives up.
	raceRetries = 3

	openDirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
)

// errRace marks an entry that changed between two system calls about it.
var errRace = fmt.Errorf("%w (raced with a change)", ErrChanged)

// warning is a skipped path with the reason, kept in cpio order so that
// Rescan can carry over the warnings of what it does not re-read.
type warning struct {
	path, msg string
}

// scanner accumulates entries in cpio order.
type scanner struct {
	ctx    context.Context
	root   string
	ex     *excluder
	out    []Entry
	warns  []warning
	dirent []byte // getdents buffer, reused: a listing is parsed before descending
}

// Scan walks root with lstat semantics and never follows a symlink: every
// directory is read through its own fd, opened relative to its parent with
// O_NOFOLLOW and checked to be the directory the lstat saw. A path that
// vanishes during the scan is left out, as if the scan had run a moment
// later; one that changes type is looked at again, and an error wrapping
// ErrChanged reports a tree that keeps changing under the scan.
func Scan(ctx context.Context, root string, opts Options) (*Tree, error) {
	ex, err := compileExcludes(opts.Excludes)
	if err != nil {
		return nil, err
	}
	fd, rootEntry, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	s := &scanner{ctx: ctx, root: root, ex: ex}
	s.out = append(s.out, rootEntry)
	if err := s.walk(fd, "."); err != nil {
		return nil, err
	}
	return s.tree(opts), nil
}

func (s *scanner) tree(opts Options) *Tree {
	clear(s.out[len(s.out):cap(s.out)]) // what is left of a recycled tree
	t := &Tree{
		Root:     s.root,
		entries:  slices.Clip(s.out),
		buf:      s.out,
		excludes: slices.Clone(opts.Excludes),
		warns:    s.warns,
	}
	for _, w := range s.warns {
		t.Warnings = append(t.Warnings, w.msg)
	}
	return t
}

// openRoot opens the rootfs directory without following a symlink in its
// last component and returns its fd and its entry ".".
func openRoot(root string) (int, Entry, error) {
	fd, err := unix.Open(root, openDirFlags, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ELOOP):
			var st unix.Stat_t
			if unix.Lstat(root, &st) == nil && st.Mode&sIFMT == sIFLNK {
				return -1, Entry{}, fmt.Errorf("rootfs %s: %w: it is a symbolic link (give the directory it points to)", root, ErrNotDir)
			}
			return -1, Entry{}, fmt.Errorf("rootfs %s: %w", root, ErrNotDir)
		default:
			return -1, Entry{}, fmt.Errorf("rootfs %s: %w", root, err)
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, Entry{}, fmt.Errorf("rootfs %s: %w", root, err)
	}
	return fd, entryOf(".", &st), nil
}

func entryOf(rel string, st *unix.Stat_t) Entry {
	e := Entry{
		Path:    rel,
		Mode:    st.Mode,
		UID:     st.Uid,
		GID:     st.Gid,
		Nlink:   uint32(st.Nlink),
		MtimeNs: st.Mtim.Nano(),
		CtimeNs: st.Ctim.Nano(),
		Dev:     st.Dev,
		Ino:     st.Ino,
	}
	switch st.Mode & sIFMT {
	case sIFREG:
		e.Size = st.Size
	case sIFCHR, sIFBLK:
		e.Rdev = st.Rdev
	}
	return e
}

func sameFile(st *unix.Stat_t, e *Entry) bool {
	return st.Dev == e.Dev && st.Ino == e.Ino && st.Mode&sIFMT == e.Mode&sIFMT
}

func (s *scanner) abs(rel string) string { return filepath.Join(s.root, rel) }

// walk appends the entries below the directory open at fd (whose own entry
// is already out).
func (s *scanner) walk(fd int, dir string) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	names, err := s.list(fd, dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := s.child(fd, dir, name); err != nil {
			return err
		}
	}
	return nil
}

// list returns the names in the directory open at fd, sorted bytewise.
func (s *scanner) list(fd int, dir string) ([]string, error) {
	if s.dirent == nil {
		s.dirent = make([]byte, 64<<10)
	}
	var names []string
	for {
		n, err := unix.ReadDirent(fd, s.dirent)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read directory %s: %w", s.abs(dir), err)
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(s.dirent[:n], -1, names)
	}
	slices.Sort(names)
	return names, nil
}

// child appends the entry dir/name and, for a directory, its subtree.
func (s *scanner) child(dirfd int, dir, name string) error {
	for attempt := 0; ; attempt++ {
		err := s.childOnce(dirfd, dir, name)
		if !errors.Is(err, errRace) || attempt == raceRetries {
			return err
		}
	}
}

func (s *scanner) childOnce(dirfd int, dir, name string) error {
	rel := joinPath(dir, name)
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // gone since the listing: as if the scan ran a moment later
		}
		return fmt.Errorf("lstat %s: %w", s.abs(rel), err)
	}
	typ := st.Mode & sIFMT
	if s.ex.match(rel, typ == sIFDIR) {
		return nil
	}
	e := entryOf(rel, &st)
	switch typ {
	case sIFREG, sIFCHR, sIFBLK, sIFIFO:
		s.out = append(s.out, e)
	case sIFLNK:
		target, err := readlinkat(dirfd, name, int(st.Size))
		switch {
		case errors.Is(err, unix.ENOENT):
			return nil
		case errors.Is(err, unix.EINVAL): // no longer a symlink
			return fmt.Errorf("readlink %s: %w", s.abs(rel), errRace)
		case err != nil:
			return fmt.Errorf("readlink %s: %w", s.abs(rel), err)
		}
		e.Target = target
		s.out = append(s.out, e)
	case sIFDIR:
		fd, err := s.openDir(dirfd, rel, &e)
		if err != nil || fd < 0 {
			return err
		}
		defer unix.Close(fd)
		s.out = append(s.out, e)
		return s.walk(fd, rel)
	case sIFSOCK:
		s.warns = append(s.warns, warning{rel, fmt.Sprintf("skipped socket %s: a cpio archive cannot hold sockets", s.abs(rel))})
	default:
		s.warns = append(s.warns, warning{rel, fmt.Sprintf("skipped %s: unknown file type %#o", s.abs(rel), typ)})
	}
	return nil
}

// openDir opens the directory dir/name that an lstat described as e, and
// checks that the fd is that directory. It returns -1 and no error when the
// directory has vanished.
func (s *scanner) openDir(dirfd int, rel string, e *Entry) (int, error) {
	fd, err := unix.Openat(dirfd, baseName(rel), openDirFlags, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return -1, nil
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return -1, fmt.Errorf("open directory %s: %w", s.abs(rel), errRace)
	case err != nil:
		return -1, fmt.Errorf("open directory %s: %w", s.abs(rel), err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("stat directory %s: %w", s.abs(rel), err)
	}
	if !sameFile(&st, e) {
		unix.Close(fd)
		return -1, fmt.Errorf("open directory %s: %w", s.abs(rel), errRace)
	}
	return fd, nil
}

// readlinkat reads a symlink's target; sizeHint is its lstat size.
func readlinkat(dirfd int, name string, sizeHint int) (string, error) {
	n := max(sizeHint+1, 128)
	for {
		buf := make([]byte, n)
		got, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if got < len(buf) {
			return string(buf[:got]), nil
		}
		n *= 2
	}
}
