package fat

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// node is a file or directory as planned.
type node struct {
	name     string
	short    [11]byte
	long     bool
	dir      bool
	children []*node
	file     File
	mtime    time.Time
	cluster  uint32 // first cluster; 0 for an empty file (and the FAT12/16 root)
	nclus    uint32
	entries  int // directories: 32-byte entries
}

// insert adds f to the tree below root.
func insert(root *node, f File, date time.Time) error {
	parts := strings.Split(strings.Trim(f.Path, "/"), "/")
	if f.Size < 0 || f.Size > 0 && f.Source == nil {
		return fmt.Errorf("%s: %w: size %d without a source", f.Path, ErrInvalidInput, f.Size)
	}
	if f.Size > 0xFFFFFFFF {
		return fmt.Errorf("%s: %w: %d bytes (FAT files are below 4 GiB)", f.Path, ErrTooLarge, f.Size)
	}
	d := root
	for i, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "\x00\\:*?\"<>|") || len(p) > 255 {
			return fmt.Errorf("%s: %w: bad name %q", f.Path, ErrInvalidInput, p)
		}
		var found *node
		for _, c := range d.children {
			if strings.EqualFold(c.name, p) { // FAT names are case-insensitive
				found = c
			}
		}
		last := i == len(parts)-1
		switch {
		case found != nil && (last || !found.dir):
			return fmt.Errorf("%s: %w: %q exists", f.Path, ErrInvalidInput, p)
		case found != nil:
			d = found
		case last:
			mt := f.Mtime
			if mt.IsZero() {
				mt = date
			}
			d.children = append(d.children, &node{name: p, file: f, mtime: mt})
		default:
			nd := &node{name: p, dir: true, mtime: date}
			d.children = append(d.children, nd)
			d = nd
		}
	}
	return nil
}

// order sorts every directory, gives short names and counts entries; it
// returns the directories breadth first (root first) and the files in the
// same order.
func order(root *node, label bool) (dirs, files []*node, err error) {
	dirs = []*node{root}
	for i := 0; i < len(dirs); i++ {
		d := dirs[i]
		slices.SortFunc(d.children, func(a, b *node) int { return strings.Compare(a.name, b.name) })
		names := make([]string, len(d.children))
		for j, c := range d.children {
			names[j] = c.name
		}
		short, long, err := shortNames(names)
		if err != nil {
			return nil, nil, err
		}
		if d == root {
			if label {
				d.entries++
			}
		} else {
			d.entries += 2 // "." and ".."
		}
		for j, c := range d.children {
			c.short, c.long = short[j], long[j]
			if c.long {
				d.entries += longEntryCount(c.name)
			}
			d.entries++
			if c.dir {
				dirs = append(dirs, c)
			} else {
				files = append(files, c)
			}
		}
	}
	return dirs, files, nil
}
