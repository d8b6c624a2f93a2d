package cache

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/liveiso/liveiso/newc"
	"github.com/liveiso/liveiso/rootfs"
)

// chunk is a run of items that becomes one member.
type chunk struct {
	items    []item
	key      memberKey
	rawBytes int64
	racy     bool
	// newestCtimeNs is the newest ctime of the files it reads from the
	// tree: the chunk stops being racy once the racy window has passed it.
	newestCtimeNs int64
	m             *member
	// earlier is the last Pack's racy member with the same key: if the
	// chunk's files, re-read, give the bytes it was made from, it is this
	// chunk's member and nothing is compressed (reread).
	earlier *member
	reread  bool
}

// newChunk is the chunk of items with its size, newest ctime and racy flag;
// racyAfter is the oldest ctime that is racy.
func newChunk(items []item, racyAfter int64) *chunk {
	ch := &chunk{items: items, newestCtimeNs: math.MinInt64}
	for j := range ch.items {
		it := &ch.items[j]
		ch.rawBytes += it.encodedLen()
		if it.fromTree() {
			ch.newestCtimeNs = max(ch.newestCtimeNs, it.e.CtimeNs)
		}
	}
	ch.racy = ch.newestCtimeNs >= racyAfter
	return ch
}

// packTree plans the chunks of tree and builds the members that no cache
// has. stale lists files that were not what the scan saw when read.
// spec, if not nil, is the build of the chunks an edit was guessed to
// touch (spec.go).
func (p *Packer) packTree(ctx context.Context, prev *lastPack, tree *rootfs.Tree, start time.Time, built map[memberKey]*member, spec *speculation) (chunks []*chunk, items []item, st Stats, stale []string, err error) {
	items, newest, warns, err := p.items(prev, tree)
	if err != nil {
		return nil, nil, st, nil, err
	}
	st.Entries = len(items)
	st.Warnings = append(slices.Clone(tree.Warnings), warns...)
	st.NewestMtime = time.Unix(0, newest)
	racyAfter := racyAfter(start, p.racy)

	ordered, starts := chunkItems(items, p.opts.ChunkTargetBytes)
	var todo []*chunk
	for i, s := range starts {
		end := len(ordered)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		run := ordered[s:end]
		var old *chunk
		if prev != nil {
			old = prev.chunks[run[0].hdr.Name]
		}
		var ch *chunk
		switch {
		case old != nil && unchanged(old.items, run):
			ch = &chunk{items: run, key: old.key, rawBytes: old.rawBytes, newestCtimeNs: old.newestCtimeNs}
			ch.racy = ch.newestCtimeNs >= racyAfter
		case old != nil && sameItems(old.items, run):
			ch = newChunk(run, racyAfter)
			ch.key = old.key
		default:
			ch = newChunk(run, racyAfter)
			ch.key = chunkKey(&p.opts, ch.items)
		}
		st.BytesIn += ch.rawBytes
		chunks = append(chunks, ch)
		// A guess of this Pack may already have put the chunk's member in
		// the caches: it is this Pack's build, for spec.take to give.
		if ch.m = p.lookup(prev, ch, built); ch.m == nil || spec.has(ch.key) {
			ch.m = nil
			todo = append(todo, ch)
		}
	}
	st.ChunksTotal = len(chunks)
	stale, err = p.build(ctx, tree, spec.take(todo, &p.guessed), p.opts.Workers, p.opts.Progress)
	if err != nil {
		return nil, nil, st, nil, err
	}
	for _, ch := range todo {
		switch {
		case ch.m == nil:
		case ch.reread:
			built[ch.key] = ch.m
			st.ChunksReread++
		default:
			built[ch.key] = ch.m
			st.ChunksRebuilt++
			st.BytesCompressed += ch.rawBytes
		}
	}
	for _, ch := range chunks {
		if ch.racy {
			st.ChunksRacy++
			if at := time.Unix(0, ch.newestCtimeNs).Add(p.racy); at.After(st.SettleAt) {
				st.SettleAt = at
			}
		}
	}
	return chunks, items, st, stale, nil
}

// newItem is the item of e made anew: its header, hash and the inode
// number of an entry outside hard-link groups (assignInodes gives those of
// a group theirs).
func (p *Packer) newItem(e *rootfs.Entry) (item, error) {
	h, err := header(e, p.opts.RootOwner)
	if err != nil {
		return item{}, err
	}
	it := item{e: e, hdr: h, hash: pathHash(e.Path)}
	it.hdr.Ino = pathInode(it.hash, 0)
	return it, nil
}

// items builds the archive's items from the tree: headers, synthetic
// entries in their place, inode numbers; and returns the newest mtime of
// the tree's entries with them.
func (p *Packer) items(prev *lastPack, tree *rootfs.Tree) (_ []item, newest int64, _ []string, _ error) {
	entries := tree.Entries()
	extra, warns := synthesize(entries, p.opts.NoAutoInit)
	// The synthetic items are merged in archive order in the same pass: an
	// insert into the whole slice per item would move every item after it.
	slices.SortFunc(extra, func(a, b item) int { return rootfs.ComparePaths(a.hdr.Name, b.hdr.Name) })
	var items, old []item
	if prev != nil {
		items, old = prev.spare[:0], prev.items
	}
	// A hard-link candidate whose entry is as it was is reused if
	// assignInodes gives it the header it had.
	type oldLink struct {
		i   int
		hdr newc.Header
	}
	var links []oldLink
	var cands []int // the hard-link candidates, for assignInodes
	if n := len(entries) + len(extra); cap(items) < n {
		items = make([]item, 0, n+n/16)
	}
	for i := range entries {
		e := &entries[i]
		for len(extra) > 0 && rootfs.ComparePaths(extra[0].hdr.Name, e.Path) < 0 {
			items = append(items, extra[0])
			extra = extra[1:]
		}
		newest = max(newest, e.MtimeNs)
		it, rest, ok, linked := reusedItem(old, e)
		old = rest
		if linked {
			links = append(links, oldLink{len(items), it.hdr})
		}
		if !ok {
			var err error
			if it, err = p.newItem(e); err != nil {
				return nil, 0, nil, fmt.Errorf("%s: %w", tree.Root, err)
			}
			if linkable(e) {
				cands = append(cands, len(items))
			}
		}
		it.reused = ok
		items = append(items, it)
	}
	items = append(items, extra...)
	clear(items[len(items):cap(items)]) // what is left of an old tree
	assignInodes(items, cands)
	for _, l := range links {
		items[l.i].reused = items[l.i].hdr == l.hdr
	}
	return items, newest, warns, nil
}
