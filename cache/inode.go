package cache

import (
	"github.com/liveiso/liveiso/newc"
	"github.com/liveiso/liveiso/rootfs"
)

// Inode numbers.
//
// The kernel links an entry to an earlier one with the same (c_ino,
// c_devmajor, c_devminor, c_mode) when c_nlink >= 2, and its link table lives
// until the one trailer, across all members. So the numbers of hard-link
// groups must be unique over the whole initrd, and, for the cache to reuse a
// chunk, they must not move when the tree changes elsewhere: a running
// counter would renumber every chunk after an insert. Every entry's number is
// derived from a hash of its path instead; a hard-link group's from its first
// path (in archive order), with collisions between groups resolved by
// rehashing the later group (deterministic, and it only ever moves a group
// whose number collides, about one in 2^32/groups). Entries that are not in a
// group (c_nlink 1) may share a number with anything: neither the kernel nor
// GNU cpio looks at it for them.

// assignInodes sets Ino, Nlink and the data placement of the hard-link
// candidates among items; cands are their indices, in archive order, and
// every other item must already carry pathInode(hash, 0) (newItem and
// synthItem give it, and an item copied from the last Pack has it: on a
// large tree a pass over every item was a tenth of an edit's planning).
// Regular files, device nodes and FIFOs whose host inode has several links
// inside the tree form a group: all its entries carry the group's number and
// the group's size in the tree as c_nlink, and, following the newc package's
// convention, only the last entry in archive order carries the data (the
// others have c_filesize 0). A file whose other links are outside the tree or
// excluded is stored as a plain file (c_nlink 1). Symlinks are never linked:
// the kernel's unpacker creates each one on its own.
func assignInodes(items []item, cands []int) {
	type devIno struct{ dev, ino uint64 }
	groups := map[devIno][]int{}
	var order []devIno
	for _, i := range cands {
		it := &items[i]
		it.hdr.Ino = pathInode(it.hash, 0)
		k := devIno{it.e.Dev, it.e.Ino}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	taken := map[uint32]bool{}
	for _, k := range order {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		first := items[g[0]].hash
		var ino uint32
		for n := uint32(1); ; n++ {
			ino = pathInode(first, n)
			if !taken[ino] {
				break
			}
		}
		taken[ino] = true
		for j, i := range g {
			h := &items[i].hdr
			h.Ino = ino
			h.Nlink = uint32(len(g))
			if j < len(g)-1 {
				h.Size = 0
			}
		}
	}
}

// linkable reports whether e may be in a hard-link group: a regular file,
// device node or FIFO with more than one link on the host.
func linkable(e *rootfs.Entry) bool {
	switch e.Mode & newc.TypeMask {
	case newc.TypeReg, newc.TypeChar, newc.TypeBlock, newc.TypeFifo:
		return e.Nlink >= 2
	}
	return false
}

// pathInode derives an inode number from a path's pathHash h; salt 0 is for
// entries outside link groups, 1, 2, ... for a group's successive
// candidates. Never 0 (the trailer's number).
func pathInode(h uint64, salt uint32) uint32 {
	v := uint32(mix64(h+uint64(salt)*0x9e3779b97f4a7c15) >> 32)
	if v == 0 {
		v = 1
	}
	return v
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
