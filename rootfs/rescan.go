package rootfs

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Rescan re-reads only what changed and returns a new Tree equal to what a
// full Scan would return now; prev is not modified.
//
// changed lists rootfs-relative paths that may have changed since prev was
// scanned ("." is the root; nil means everything). For each changed path
// Rescan re-lists its parent directory, re-lstats the path and, if it is a
// directory, rescans its whole subtree; the directories on the way down are
// re-opened (O_NOFOLLOW, checked against prev) and re-stated. Everything else
// is copied from prev without a system call: the cost is the change plus a
// copy of the entry slice. A path below something prev does not hold as a
// directory (new, excluded, or not a directory then) is handled by rescanning
// from the highest such ancestor; a directory on the way down that is no
// longer the one prev saw is rescanned whole.
//
// A hard link added or removed, and a write or chmod through one name,
// change the stat data of the file's other names without anything reporting
// them; so the other names of a re-read file with several links (as prev
// or the new tree saw it) are re-read as well.
func Rescan(ctx context.Context, prev *Tree, changed []string, opts Options) (*Tree, error) {
	return rescan(ctx, prev, changed, opts, nil, true)
}

// RescanInto is Rescan building the new tree in the memory of old, a tree
// that nobody reads any more (nil: none). old is consumed by the call,
// whatever it returns: its entries may be overwritten by the new tree's,
// and any later use of old panics (see Tree). The caller hands it over
// only when nothing reads it any more. (old == prev is not recycled.) On
// a large tree an edit's rescan is mostly the copy of the entry slice, and
// a new slice for each edit (20 MB for 200k entries) is memory the kernel
// has to fault in and the garbage collector to find again
// (MEASUREMENTS.md, rootfs).
func RescanInto(ctx context.Context, prev *Tree, changed []string, opts Options, old *Tree) (*Tree, error) {
	if old == prev {
		old = nil
	}
	if old != nil {
		old.mustLive()
		buf := old.buf
		old.consume()
		old = &Tree{buf: buf} // the memory alone, which the new tree may take
	}
	return rescan(ctx, prev, changed, opts, old, true)
}

func rescan(ctx context.Context, prev *Tree, changed []string, opts Options, old *Tree, followLinks bool) (*Tree, error) {
	if prev == nil {
		return nil, errors.New("rescan: no previous tree")
	}
	prev.mustLive()
	if changed == nil || !slices.Equal(prev.excludes, opts.Excludes) {
		return Scan(ctx, prev.Root, opts)
	}
	ex, err := compileExcludes(opts.Excludes)
	if err != nil {
		return nil, err
	}
	r := &rescanner{prev: prev, full: map[string]bool{}, relist: map[string]bool{}, pass: map[string]bool{}}
	for _, c := range changed {
		rel, ok := CleanRel(c)
		if !ok {
			return nil, fmt.Errorf("rescan %s: changed path %q is not inside the rootfs", prev.Root, c)
		}
		if rel == "." {
			return Scan(ctx, prev.Root, opts)
		}
		r.mark(rel)
	}
	if len(r.full) == 0 {
		return prev, nil
	}

	fd, rootEntry, err := openRoot(prev.Root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if rootEntry.Dev != prev.entries[0].Dev || rootEntry.Ino != prev.entries[0].Ino {
		return Scan(ctx, prev.Root, opts) // a different directory now: nothing to reuse
	}
	r.s = scanner{ctx: ctx, root: prev.Root, ex: ex}
	if n := len(prev.entries) + 16; old != nil && cap(old.buf) >= n {
		r.s.out = old.buf[:0]
	} else {
		r.s.out = make([]Entry, 0, n)
	}
	r.s.out = append(r.s.out, rootEntry)
	if err := r.merge(fd, ".", 0); err != nil {
		return nil, err
	}
	slices.SortFunc(r.s.warns, func(a, b warning) int { return ComparePaths(a.path, b.path) })
	t := r.s.tree(opts)
	if followLinks {
		if others := r.otherLinks(t); len(others) > 0 {
			return rescan(ctx, t, others, opts, nil, false)
		}
	}
	return t, nil
}

// otherLinks returns the paths of t, not re-read by this rescan, that are
// names of a file with several links that this rescan re-read (or saw
// removed).
func (r *rescanner) otherLinks(t *Tree) []string {
	type devIno struct{ dev, ino uint64 }
	ids := map[devIno]bool{}
	collect := func(es []Entry, p string) {
		i := FindEntry(es, p)
		if i < 0 {
			return
		}
		for _, e := range es[i:subtreeEnd(es, i)] {
			if e.Mode&sIFMT != sIFDIR && e.Nlink >= 2 {
				ids[devIno{e.Dev, e.Ino}] = true
			}
		}
	}
	for p := range r.full {
		collect(r.prev.entries, p)
		collect(t.entries, p)
	}
	if len(ids) == 0 {
		return nil
	}
	var others []string
	for _, e := range t.entries {
		if e.Mode&sIFMT != sIFDIR && ids[devIno{e.Dev, e.Ino}] && !r.reread(e.Path) {
			others = append(others, e.Path)
		}
	}
	return others
}

// reread reports whether p lies in a subtree this rescan read afresh.
func (r *rescanner) reread(p string) bool {
	for ; p != "."; p = parentPath(p) {
		if r.full[p] {
			return true
		}
	}
	return false
}

type rescanner struct {
	prev   *Tree
	s      scanner
	full   map[string]bool // rescan the path and its subtree
	relist map[string]bool // re-read the directory's listing
	pass   map[string]bool // directories on the way down to the above
}

// CleanRel turns a changed path as a watcher reports it into the form of
// Entry.Path; false for a path outside the rootfs.
func CleanRel(p string) (string, bool) {
	p = path.Clean(strings.TrimLeft(p, "/"))
	return p, !strings.HasPrefix(p, "../") && p != ".."
}

// mark plans the rescan of rel: from the highest ancestor that prev does not
// hold as a directory (or rel itself), rescan the subtree, re-list its parent,
// and pass through every directory above.
func (r *rescanner) mark(rel string) {
	es := r.prev.entries
	for i := 0; i < len(rel); i++ {
		if rel[i] != '/' {
			continue
		}
		if j := FindEntry(es, rel[:i]); j < 0 || es[j].Mode&sIFMT != sIFDIR {
			rel = rel[:i]
			break
		}
	}
	r.full[rel] = true
	for d := parentPath(rel); ; d = parentPath(d) {
		if r.pass[d] {
			break
		}
		r.pass[d] = true
		if d == "." {
			break
		}
	}
	r.relist[parentPath(rel)] = true
}

// merge appends the children of directory dir, open at fd, whose entry is
// prev.entries[i] (already appended, refreshed).
func (r *rescanner) merge(fd int, dir string, i int) error {
	if err := r.s.ctx.Err(); err != nil {
		return err
	}
	es := r.prev.entries
	// The children prev holds, by index, in name order.
	var kids []int
	for j, end := i+1, subtreeEnd(es, i); j < end; j = subtreeEnd(es, j) {
		kids = append(kids, j)
	}
	var names []string
	if r.relist[dir] {
		var err error
		if names, err = r.s.list(fd, dir); err != nil {
			return err
		}
	} else {
		names = make([]string, len(kids))
		for k, j := range kids {
			names[k] = baseName(es[j].Path)
		}
		r.keepWarnings(dir, false)
	}
	k := 0
	for _, name := range names {
		for k < len(kids) && baseName(es[kids[k]].Path) < name {
			k++
		}
		rel := joinPath(dir, name)
		j := -1
		if k < len(kids) && baseName(es[kids[k]].Path) == name {
			j = kids[k]
		}
		var err error
		switch {
		case j < 0 || r.full[rel]:
			err = r.s.child(fd, dir, name)
		case r.pass[rel]:
			err = r.passDir(fd, rel, j)
		default:
			end := subtreeEnd(es, j)
			r.s.out = append(r.s.out, es[j:end]...)
			if end > j+1 {
				r.keepWarnings(rel, true)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// passDir re-opens the directory rel on the way to a change, checks it is
// the one prev holds at index j, refreshes its entry and merges its children.
// Anything else there now is scanned afresh.
func (r *rescanner) passDir(dirfd int, rel string, j int) error {
	e := r.prev.entries[j]
	fd, err := unix.Openat(dirfd, baseName(rel), openDirFlags, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil // gone
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return r.s.child(dirfd, parentPath(rel), baseName(rel))
	case err != nil:
		return fmt.Errorf("open directory %s: %w", r.s.abs(rel), err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat directory %s: %w", r.s.abs(rel), err)
	}
	if !sameFile(&st, &e) {
		return r.s.child(dirfd, parentPath(rel), baseName(rel))
	}
	r.s.out = append(r.s.out, entryOf(rel, &st))
	return r.merge(fd, rel, j)
}

// keepWarnings carries prev's warnings over for a listing that is reused:
// the whole subtree of dir, or (subtree false) only dir's own children.
func (r *rescanner) keepWarnings(dir string, subtree bool) {
	ws := r.prev.warns
	lo := sort.Search(len(ws), func(k int) bool { return ComparePaths(ws[k].path, dir) > 0 })
	for k := lo; k < len(ws) && isUnder(ws[k].path, dir); k++ {
		if subtree || parentPath(ws[k].path) == dir {
			r.s.warns = append(r.s.warns, ws[k])
		}
	}
}
