package isolayout

import (
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// pnode is a node as planned: the input's node, validated, with its ISO
// name, its place in the order and, once sectors are assigned, its LBA.
type pnode struct {
	name   string
	iso    isoName
	ident  []byte
	parent *pnode
	mode   fs.FileMode
	mtime  time.Time
	uid    uint32
	gid    uint32
	target string    // symlinks
	dev    [2]uint32 // device nodes: major, minor

	children []*pnode // directories, in ECMA-119 9.3 order
	number   int      // directories: path table number
	records  []record // directories: the records of its extent
	dirBytes int64    // directories: extent size, whole sectors
	subdirs  int

	size     int64       // regular files
	data     []byte      // regular files: generated contents (boot catalog, patched loader), served instead of src
	src      io.ReaderAt // regular files
	volatile bool
	boot     bool // El Torito files: placed before all other file data

	lba uint32
	ino uint32
}

// tree is the planned tree: the root and the directories in path table
// order, which is also the order of their extents and of file data.
type tree struct {
	root *pnode
	dirs []*pnode
}

// adopt validates the input tree and builds its planned copy; the input is
// not modified.
func adopt(root *Node, date time.Time) (*pnode, error) {
	seen := map[*Node]bool{}
	var walk func(n *Node, parent *pnode, path string) (*pnode, error)
	walk = func(n *Node, parent *pnode, path string) (*pnode, error) {
		pn := &pnode{name: n.Name, parent: parent, mode: n.Mode, mtime: n.Mtime, uid: n.UID, gid: n.GID,
			target: n.Target, dev: [2]uint32{n.DevMajor, n.DevMinor}}
		if pn.mtime.IsZero() {
			pn.mtime = date
		}
		if parent != nil {
			switch {
			case n.Name == "" || n.Name == "." || n.Name == "..":
				return nil, fmt.Errorf("%s: %w: name %q", path, ErrInvalidTree, n.Name)
			case strings.ContainsAny(n.Name, "/\x00"):
				return nil, fmt.Errorf("%s: %w: name contains / or NUL", path, ErrInvalidTree)
			case len(n.Name) > maxNameBytes:
				return nil, fmt.Errorf("%s: %w", path, ErrNameTooLong)
			}
		}
		switch {
		case n.Mode.IsDir():
			if seen[n] {
				return nil, fmt.Errorf("%s: %w: directory node appears twice", path, ErrInvalidTree)
			}
			seen[n] = true
			pn.children = make([]*pnode, 0, len(n.Children))
			for _, c := range n.Children {
				if c == nil {
					return nil, fmt.Errorf("%s: %w: nil child", path, ErrInvalidTree)
				}
				cp, err := walk(c, pn, path+"/"+c.Name)
				if err != nil {
					return nil, err
				}
				pn.children = append(pn.children, cp)
			}
		case n.Mode.IsRegular():
			if n.Size < 0 || n.Size > 0 && n.Source == nil {
				return nil, fmt.Errorf("%s: %w: regular file with size %d and no source", path, ErrInvalidTree, n.Size)
			}
			pn.size, pn.src, pn.volatile = n.Size, n.Source, n.Volatile
		case n.Mode&fs.ModeSymlink != 0:
			if n.Target == "" {
				return nil, fmt.Errorf("%s: %w: empty symlink target", path, ErrInvalidTree)
			}
		}
		return pn, nil
	}
	return walk(root, nil, "")
}

// add makes n a child of dir.
func (dir *pnode) add(n *pnode) {
	n.parent = dir
	dir.children = append(dir.children, n)
}

// lookup finds a node by slash-separated path below root.
func lookup(root *pnode, path string) *pnode {
	n := root
	for c := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		if !n.mode.IsDir() {
			return nil
		}
		var next *pnode
		for _, ch := range n.children {
			if ch.name == c {
				next = ch
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// order sorts every directory, assigns ISO names, numbers the directories in
// path table order (ECMA-119 6.9.1: by level, then parent number, then
// identifier) and assigns inode numbers in the same walk.
func order(root *pnode) (*tree, error) {
	t := &tree{root: root}
	root.ident = identifierCurrent
	root.iso = isoName{dir: true}
	ino := uint32(1)
	root.ino = ino
	t.dirs = append(t.dirs, root)
	var names []string
	var isDir []bool
	for i := 0; i < len(t.dirs); i++ {
		d := t.dirs[i]
		d.number = i + 1
		if d.number > maxDirectories {
			return nil, ErrTooManyDirectories
		}
		slices.SortFunc(d.children, func(a, b *pnode) int { return strings.Compare(a.name, b.name) })
		names, isDir = names[:0], isDir[:0]
		for j, c := range d.children {
			if j > 0 && d.children[j-1].name == c.name {
				return nil, fmt.Errorf("%s: %w: duplicate name %q", pathOf(d), ErrInvalidTree, c.name)
			}
			names = append(names, c.name)
			isDir = append(isDir, c.mode.IsDir())
		}
		isoNames := uniqueISONames(names, isDir)
		for j, c := range d.children {
			c.iso = isoNames[j]
			c.ident = c.iso.identifier()
		}
		slices.SortFunc(d.children, func(a, b *pnode) int {
			if a.iso.less(b.iso) {
				return -1
			}
			return 1
		})
		d.subdirs = 0
		for _, c := range d.children {
			ino++
			c.ino = ino
			if c.mode.IsDir() {
				t.dirs = append(t.dirs, c)
				d.subdirs++
			}
		}
	}
	return t, nil
}

// files is every regular file in the order of its data: the El Torito
// files, the other files in directory order, then the volatile files.
func (t *tree) files(boot []*pnode) []*pnode {
	out := append([]*pnode(nil), boot...)
	for _, volatile := range []bool{false, true} {
		for _, d := range t.dirs {
			for _, c := range d.children {
				if c.mode.IsRegular() && !c.boot && c.volatile == volatile {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

func pathOf(n *pnode) string {
	if n.parent == nil {
		return "/"
	}
	var parts []string
	for ; n.parent != nil; n = n.parent {
		parts = append(parts, n.name)
	}
	slices.Reverse(parts)
	return "/" + strings.Join(parts, "/")
}

// parts is the number of directory records (extents) of a file.
func (n *pnode) parts() int {
	if !n.mode.IsRegular() || n.size <= maxExtentBytes {
		return 1
	}
	return int((n.size + maxExtentBytes - 1) / maxExtentBytes)
}
