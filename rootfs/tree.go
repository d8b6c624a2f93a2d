package rootfs

import (
	"errors"
)

// Entry is one file of the rootfs with its lstat data.
type Entry struct {
	Path     string // rootfs-relative, slash-separated, no leading "/" or "./"; the root itself is "."
	Mode     uint32 // Unix st_mode: S_IFMT type bits and permission bits (incl. setuid/setgid/sticky)
	UID, GID uint32
	Nlink    uint32
	Size     int64 // regular files
	MtimeNs  int64 // nanoseconds since the epoch
	CtimeNs  int64
	Dev, Ino uint64 // st_dev, st_ino of the file on the host
	Rdev     uint64 // st_rdev (device nodes); use unix.Major/unix.Minor
	Target   string // symlink target, read with readlinkat, never followed
}

// Options tune a scan.
type Options struct {
	// Excludes are rsync/mksquashfs-like globs, rootfs-relative (see Match).
	// An excluded directory is not descended.
	Excludes []string
}

// Tree is the result of a scan: Entries in cpio order (a directory before
// its contents; within a directory, names sorted bytewise), deterministic.
// Immutable once returned, until it is handed to RescanInto as the tree to
// recycle: that consumes it, and any later use of it (Entries, Open,
// Opener, a Rescan of it) panics, naming RescanInto, rather than read
// entries that now belong to another tree.
type Tree struct {
	Root     string
	Warnings []string // skipped sockets, ...

	entries  []Entry   // see Entries
	excludes []string  // the Options.Excludes of the scan, so Rescan can tell a change
	warns    []warning // Warnings with their paths, in cpio order
	buf      []Entry   // entries with their whole capacity, for RescanInto
	consumed bool      // handed to RescanInto: its memory belongs to another tree
}

// Entries are the tree's entries in cpio order. The slice is the tree's
// own: read it, never write it. It panics on a tree that RescanInto
// consumed.
func (t *Tree) Entries() []Entry {
	t.mustLive()
	return t.entries
}

// mustLive panics if t was consumed by RescanInto: a stale reader is a bug
// in its caller, which would otherwise read another tree's entries.
func (t *Tree) mustLive() {
	if t.consumed {
		panic("rootfs: tree of " + t.Root + " used after RescanInto consumed it (its entries now belong to a newer tree)")
	}
}

// consume marks t as handed over to a newer tree and lets go of its
// entries.
func (t *Tree) consume() {
	t.consumed = true
	t.entries, t.buf, t.warns, t.Warnings = nil, nil, nil, nil
}

// Errors a caller may need to tell apart; they are wrapped with the path.
var (
	// ErrChanged: the tree changed under the scan or since it (a directory
	// replaced by a symlink, a file replaced by another one, ...).
	ErrChanged = errors.New("changed during or since the scan")
	// ErrNotDir: the rootfs (or a path that must be a directory) is not a directory.
	ErrNotDir = errors.New("not a directory")
	// ErrNotRegular: Open was asked for an entry that is not a regular file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrBadPattern: an exclude pattern is malformed.
	ErrBadPattern = errors.New("bad exclude pattern")
)
