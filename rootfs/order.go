package rootfs

import (
	"sort"
	"strings"
)

// ComparePaths orders paths as a cpio archive needs them, the order of
// Tree.Entries(): a pre-order walk with names sorted bytewise within each
// directory, "." first. That is the order of paths compared component by
// component, which is plain byte order with "/" counted lower than any byte
// a name can hold (names hold neither "/" nor NUL). So an Entries slice is
// sorted by it and a directory's subtree is one contiguous run after the
// directory: Rescan finds both by binary search, and so can a caller
// looking up a path. It returns -1, 0 or +1, like strings.Compare.
func ComparePaths(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == ".":
		return -1
	case b == ".":
		return 1
	}
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		if x < y {
			return -1
		}
		return 1
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// isUnder reports whether p lies strictly inside directory dir.
func isUnder(p, dir string) bool {
	if dir == "." {
		return p != "."
	}
	return len(p) > len(dir) && p[len(dir)] == '/' && strings.HasPrefix(p, dir)
}

// joinPath joins a directory path and a name.
func joinPath(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// parentPath returns the directory holding p ("." for top-level names).
func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}

// baseName returns the last component of p.
func baseName(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// FindEntry returns the index of the entry with path p in es (in cpio
// order, as Tree.Entries()), or -1.
func FindEntry(es []Entry, p string) int {
	i := sort.Search(len(es), func(i int) bool { return ComparePaths(es[i].Path, p) >= 0 })
	if i < len(es) && es[i].Path == p {
		return i
	}
	return -1
}

// subtreeEnd returns the index after the last entry inside es[i] (i+1 for
// anything but a directory).
func subtreeEnd(es []Entry, i int) int {
	if es[i].Mode&sIFMT != sIFDIR {
		return i + 1
	}
	dir, rest := es[i].Path, es[i+1:]
	return i + 1 + sort.Search(len(rest), func(k int) bool { return !isUnder(rest[k].Path, dir) })
}
