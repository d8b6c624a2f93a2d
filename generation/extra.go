package generation

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/liveiso/liveiso/isolayout"
)

// extraTree reads the directory of extra files (--extra) into nodes for the
// CD's root, adding the files it opens to opened. Symlinks are stored as
// symlinks, never followed.
func extraTree(dir string, opened *[]io.Closer) ([]*isolayout.Node, error) {
	root, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("extra files: %w", err)
	}
	if !root.IsDir() {
		return nil, fmt.Errorf("extra files: %s: not a directory", dir)
	}
	var walk func(path string) ([]*isolayout.Node, error)
	walk = func(path string) ([]*isolayout.Node, error) {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("extra files: %w", err)
		}
		var nodes []*isolayout.Node
		for _, e := range ents {
			p := filepath.Join(path, e.Name())
			fi, err := os.Lstat(p)
			if err != nil {
				return nil, fmt.Errorf("extra files: %w", err)
			}
			n := nodeFor(e.Name(), fi)
			switch {
			case fi.IsDir():
				if n.Children, err = walk(p); err != nil {
					return nil, err
				}
			case fi.Mode()&fs.ModeSymlink != 0:
				if n.Target, err = os.Readlink(p); err != nil {
					return nil, fmt.Errorf("extra files: %w", err)
				}
			case fi.Mode().IsRegular():
				src, sfi, err := openHost(p)
				if err != nil {
					return nil, fmt.Errorf("extra files: %w", err)
				}
				*opened = append(*opened, src)
				n = nodeFor(e.Name(), sfi) // what was opened, if it changed since the lstat
				n.Source = src
			default:
				return nil, fmt.Errorf("extra files: %s: %s cannot be stored on the CD (only files, directories and symlinks)", p, typeName(fi.Mode()))
			}
			nodes = append(nodes, n)
		}
		return nodes, nil
	}
	return walk(dir)
}

// nodeFor makes a node with the type, permissions, owner and mtime of fi.
func nodeFor(name string, fi fs.FileInfo) *isolayout.Node {
	n := &isolayout.Node{Name: name, Mode: fi.Mode(), Mtime: fi.ModTime()}
	if fi.Mode().IsRegular() {
		n.Size = fi.Size()
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		n.UID, n.GID = st.Uid, st.Gid
	}
	return n
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeDevice != 0:
		return "a device node"
	}
	return "a special file"
}
