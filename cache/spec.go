package cache

import (
	"context"
	"sort"
	"sync/atomic"

	"github.com/liveiso/liveiso/rootfs"
)

// Speculation.
//
// A Pack plans the whole archive before it builds anything: items for every
// entry, the chunk cuts, a key per chunk. On a 200k-file tree that was
// 40 ms on one core, and only then did the one chunk an edit touched start
// its 38 ms of reading and compressing, while the other core idled
// (MEASUREMENTS.md, cache).
//
// So an edit's Pack guesses that chunk first. For each changed path (a few
// at most), the last Pack's chunk that held the path is made again from the
// new tree: the entries between its first path and the next chunk's, as
// items; the guess holds if no item inside is a cut any more and the next
// chunk's first item still is one. A guess whose member no cache holds is
// built at once, on its own goroutine, while the Pack plans. The plan then
// takes the guess's member for the chunk of the same key, which names the
// member's bytes, so a right guess is the member the plan would have built
// and a wrong one is never used: its work is lost (and its member stored,
// like any other).
//
// A guess is only made where every decision about an item is local or can
// be taken from the last Pack: not for a chunk with a synthetic item, nor
// for one with an entry that changed and may be a hard link (its inode
// number depends on the whole tree).

// maxGuesses bounds the changed paths a Pack guesses chunks for: a burst
// of changes has the whole plan's worth of chunks to build anyway.
const maxGuesses = 4

// speculation is the build of the guessed chunks, running.
type speculation struct {
	chunks []*chunk
	cancel context.CancelFunc
	done   chan struct{}
}

// speculate guesses the chunks of changed in tree and starts building those
// no cache has; nil if there is nothing to build.
func (p *Packer) speculate(ctx context.Context, prev *lastPack, tree *rootfs.Tree, changed []string, racyAfter int64) *speculation {
	if prev == nil || len(changed) == 0 || len(changed) > maxGuesses {
		return nil
	}
	var todo []*chunk
	seen := map[int]bool{}
	for _, c := range changed {
		c, ok := rootfs.CleanRel(c)
		if !ok {
			continue
		}
		i := prev.chunkOf(c)
		if i < 0 || seen[i] {
			continue
		}
		seen[i] = true
		ch := p.guess(prev, i, tree, racyAfter)
		if ch == nil {
			continue
		}
		ch.key = chunkKey(&p.opts, ch.items)
		if p.lookup(prev, ch, nil) != nil {
			continue
		}
		todo = append(todo, ch)
	}
	if len(todo) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &speculation{chunks: todo, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		// Errors and stale files are the plan's to find: it builds any
		// chunk the guesses did not give a member.
		p.build(ctx, tree, todo, 1, nil)
	}()
	return s
}

// has reports whether a guess has the key k.
func (s *speculation) has(k memberKey) bool {
	if s == nil {
		return false
	}
	for _, g := range s.chunks {
		if g.key == k {
			return true
		}
	}
	return false
}

// take gives each chunk of todo whose key a guess has that guess's member,
// once the guesses are built, and returns the chunks still to build. Guesses
// the plan has no use for are cancelled first. taken counts the members
// given.
func (s *speculation) take(todo []*chunk, taken *atomic.Int64) (rest []*chunk) {
	if s == nil {
		return todo
	}
	byKey := make(map[memberKey]*chunk, len(s.chunks))
	for _, g := range s.chunks {
		byKey[g.key] = g
	}
	used := false
	for _, ch := range todo {
		if byKey[ch.key] != nil {
			used = true
		}
	}
	if !used {
		s.cancel()
	}
	<-s.done
	for _, ch := range todo {
		if g := byKey[ch.key]; g != nil && g.m != nil {
			ch.m, ch.reread = g.m, g.reread
			taken.Add(1)
			continue
		}
		rest = append(rest, ch)
	}
	return rest
}

// stop cancels the guesses' build and waits for it.
func (s *speculation) stop() {
	if s != nil {
		s.cancel()
		<-s.done
	}
}

// chunkOf returns the index in order of the chunk that held the path p (or
// would have, for a path that was not in the tree), or -1.
func (l *lastPack) chunkOf(p string) int {
	for i := l.small; i < len(l.order); i++ {
		if l.order[i].items[0].hdr.Name == p {
			return i
		}
	}
	i := sort.Search(l.small, func(i int) bool { return rootfs.ComparePaths(l.order[i].items[0].hdr.Name, p) > 0 })
	return i - 1
}

// guess makes the chunk of the new tree that takes the place of the last
// Pack's chunk order[i], or nil when it cannot be told without the plan.
func (p *Packer) guess(prev *lastPack, i int, tree *rootfs.Tree, racyAfter int64) *chunk {
	old := prev.order[i]
	for j := range old.items {
		if old.items[j].synth {
			return nil
		}
	}
	target, maxBytes := p.opts.ChunkTargetBytes, maxChunkBytes(p.opts.ChunkTargetBytes)
	es := tree.Entries()
	k := rootfs.FindEntry(es, old.items[0].hdr.Name)
	if k < 0 {
		return nil
	}
	if i >= prev.small { // a large item, a chunk of its own
		it, _, ok := sameEntry(old.items, &es[k])
		if !ok {
			it, ok = p.localItem(&es[k])
		}
		if !ok || it.encodedLen() < target {
			return nil
		}
		return newChunk([]item{it}, racyAfter)
	}
	var end string
	if i+1 < prev.small {
		end = prev.order[i+1].items[0].hdr.Name
	}
	var items []item
	var run int64
	olds := old.items
	for ; k < len(es); k++ {
		e := &es[k]
		next := end != "" && rootfs.ComparePaths(e.Path, end) >= 0
		if next {
			olds = prev.order[i+1].items
		}
		var it item
		var ok bool
		if it, olds, ok = sameEntry(olds, e); !ok {
			if it, ok = p.localItem(e); !ok {
				return nil
			}
		}
		l := it.encodedLen()
		cut := startsChunk(it.hash, l, target) || run+l > maxBytes
		if next {
			// The next chunk must still start where it did.
			if e.Path != end || l >= target || !cut {
				return nil
			}
			break
		}
		switch {
		case l >= target:
			if len(items) == 0 {
				return nil
			}
			continue // out of line
		case len(items) > 0 && cut:
			return nil
		}
		items = append(items, it)
		run += l
	}
	if len(items) == 0 {
		return nil
	}
	return newChunk(items, racyAfter)
}

// sameEntry is reusedItem for a guess: the old item of an entry that equals
// e, a hard link's too, which keeps the inode number and data placement it
// had: they change when its group does, and a link added or removed changes
// the link count of every name in the group, so their entries too.
func sameEntry(olds []item, e *rootfs.Entry) (item, []item, bool) {
	it, rest, ok, linked := reusedItem(olds, e)
	return it, rest, ok || linked
}

// localItem is the item of e as the plan makes it, if nothing but e decides
// it: not for an entry that may be a hard link.
func (p *Packer) localItem(e *rootfs.Entry) (item, bool) {
	if linkable(e) {
		return item{}, false
	}
	it, err := p.newItem(e)
	return it, err == nil
}
