package watch

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/liveiso/liveiso/rootfs"
	"golang.org/x/sys/unix"
)

// fileID identifies a directory on the host.
type fileID struct{ dev, ino uint64 }

// dirNode is one watched directory.
type dirNode struct {
	id  fileID
	sub map[string]struct{} // names of its watched subdirectories
}

// errRaced says a directory changed while its watch was being added; its
// parent's watch reports the change.
var errRaced = errors.New("directory changed while adding its watch")

// dirs is the set of watched directories, keyed by rootfs-relative path, and
// the way to reach them without following symlinks.
type dirs struct {
	root   string // absolute, symlinks resolved
	rootFD int    // O_PATH descriptor of root, the anchor of every open
	nodes  map[string]*dirNode
}

func (d *dirs) abs(rel string) string { return filepath.Join(d.root, rel) }

// open opens the directory rel below the root without following a symlink
// in any component and without leaving the root.
func (d *dirs) open(rel string, flags int) (int, error) {
	return rootfs.OpenBeneath(d.rootFD, rel, flags|unix.O_DIRECTORY)
}

// id returns the identity of the directory rel, reached as open reaches it.
func (d *dirs) id(rel string) (fileID, error) {
	fd, err := d.open(rel, unix.O_PATH)
	if err != nil {
		return fileID{}, err
	}
	defer unix.Close(fd)
	return fdID(fd)
}

func fdID(fd int) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fileID{}, err
	}
	return fileID{dev: st.Dev, ino: st.Ino}, nil
}

// watchOne adds a watch on the directory rel with add, then lists it and
// returns the names of its subdirectories. The watch is added before the
// listing so that nothing created in between goes unseen.
//
// inotify_add_watch resolves its path following symlinks, and fsnotify offers
// no IN_DONT_FOLLOW, so the directory is identified through a symlink-free
// open (rootfs.OpenBeneath) before and after the watch is added: if both
// agree the watch is on that directory, unless the path was switched to a symlink and back within
// those microseconds, which can only cost spurious events, never content
// (the packer reads with its own symlink-free opens).
func (d *dirs) watchOne(rel string, add func(string) error, remove func(string)) ([]string, error) {
	fd, err := d.open(rel, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), d.abs(rel))
	defer f.Close()
	before, err := fdID(fd)
	if err != nil {
		return nil, err
	}
	if n, ok := d.nodes[rel]; ok && n.id != before {
		d.unwatch(rel, remove) // a different directory now has this name
	}
	if _, ok := d.nodes[rel]; !ok {
		if err := add(d.abs(rel)); err != nil {
			return nil, err
		}
		after, err := d.id(rel)
		if err != nil || after != before {
			remove(d.abs(rel))
			return nil, errRaced
		}
		d.nodes[rel] = &dirNode{id: before}
		if rel != "." {
			if parent, ok := d.nodes[path.Dir(rel)]; ok {
				if parent.sub == nil {
					parent.sub = make(map[string]struct{})
				}
				parent.sub[path.Base(rel)] = struct{}{}
			}
		}
	}
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", rel, err)
	}
	var subdirs []string
	for _, e := range entries {
		if e.IsDir() { // d_type (or lstat): a symlink to a directory is not one
			subdirs = append(subdirs, e.Name())
		}
	}
	return subdirs, nil
}

// watching reports whether the directory id is watched, under any name.
func (d *dirs) watching(id fileID) bool {
	for _, n := range d.nodes {
		if n.id == id {
			return true
		}
	}
	return false
}

// unwatch drops the watches of rel and of every watched directory below it.
func (d *dirs) unwatch(rel string, remove func(string)) {
	n, ok := d.nodes[rel]
	if !ok {
		return
	}
	for name := range n.sub {
		d.unwatch(path.Join(rel, name), remove)
	}
	delete(d.nodes, rel)
	remove(d.abs(rel))
	if rel != "." {
		if parent, ok := d.nodes[path.Dir(rel)]; ok {
			delete(parent.sub, path.Base(rel))
		}
	}
}

// watchTree watches rel and every directory below it, top-down, and records
// the directories it watched in seen unless seen is nil. It stops at the first
// error that isWatchLimit reports and returns it; other errors (a directory
// that vanished, an unreadable one) skip that subtree and are passed to
// skipped.
func (d *dirs) watchTree(rel string, seen map[string]struct{}, add func(string) error, remove func(string), skipped func(string, error)) error {
	stack := []string{rel}
	for len(stack) > 0 {
		rel := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		subdirs, err := d.watchOne(rel, add, remove)
		if err != nil {
			if isWatchLimit(err) {
				return err
			}
			skipped(rel, err)
			continue
		}
		if seen != nil {
			seen[rel] = struct{}{}
		}
		for _, name := range subdirs {
			stack = append(stack, path.Join(rel, name))
		}
	}
	return nil
}

// isWatchLimit reports whether err means the kernel's inotify limits are
// exhausted: ENOSPC from inotify_add_watch (fs.inotify.max_user_watches) or
// EMFILE from inotify_init (fs.inotify.max_user_instances).
func isWatchLimit(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EMFILE)
}
