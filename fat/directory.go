package fat

import "time"

// encodeDir returns the entries of directory d.
func encodeDir(d, root *node, label string, date time.Time) ([]byte, error) {
	b := make([]byte, 0, d.entries*dirEntrySize)
	if d == root {
		if label != "" {
			e := dirEntry{Attr: attrVolumeID, Time: date}
			copy(e.Name[:], padName(label, 11))
			b = e.appendTo(b)
		}
	} else {
		self := dirEntry{Attr: attrDirectory, Time: d.mtime, Cluster: d.cluster}
		copy(self.Name[:], padName(".", 11))
		b = self.appendTo(b)
		parent := dirEntry{Attr: attrDirectory, Time: d.mtime, Cluster: parentCluster(root, d)}
		copy(parent.Name[:], padName("..", 11))
		b = parent.appendTo(b)
	}
	for _, c := range d.children {
		if c.long {
			b = appendLongEntries(b, c.name, c.short)
		}
		e := dirEntry{Name: c.short, Time: c.mtime, Cluster: c.cluster}
		if c.dir {
			e.Attr = attrDirectory
		} else {
			e.Attr = attrArchive | attrReadOnly
			e.FileSize = uint32(c.file.Size)
		}
		b = e.appendTo(b)
	}
	return b, nil
}

// parentCluster is the cluster ".." of d names: 0 when the parent is the
// root, on FAT32 too (fatgen103, "FAT Directory Structure").
func parentCluster(root, d *node) uint32 {
	var find func(n *node) *node
	find = func(n *node) *node {
		for _, c := range n.children {
			if c == d {
				return n
			}
			if c.dir {
				if p := find(c); p != nil {
					return p
				}
			}
		}
		return nil
	}
	p := find(root)
	if p == nil || p == root {
		return 0
	}
	return p.cluster
}
