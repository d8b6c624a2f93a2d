package cache

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

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

// packTree plans the chunks of tree and builds the members that no cache
// has. stale lists files that were not what the scan saw when read.
func (p *Packer) packTree(ctx context.Context, prev *lastPack, tree *rootfs.Tree, start time.Time, built map[memberKey]*member) (chunks []*chunk, items []item, st Stats, stale []string, err error) {
	items, warns, err := p.items(prev, tree)
	if err != nil {
		return nil, nil, st, nil, err
	}
	st.Entries = len(items)
	st.Warnings = append(slices.Clone(tree.Warnings), warns...)
	var newest int64
	for i := range items {
		if !items[i].synth {
			newest = max(newest, items[i].e.MtimeNs)
		}
	}
	st.NewestMtime = time.Unix(0, newest)

	ordered, starts := chunkItems(items, p.opts.ChunkTargetBytes)
	racyAfter := start.Add(-p.racy).UnixNano()
	var todo []*chunk
	for i, s := range starts {
		end := len(ordered)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		ch := &chunk{items: ordered[s:end], newestCtimeNs: math.MinInt64}
		for j := range ch.items {
			it := &ch.items[j]
			ch.rawBytes += it.encodedLen()
			if it.fromTree() {
				ch.newestCtimeNs = max(ch.newestCtimeNs, it.e.CtimeNs)
			}
		}
		ch.racy = ch.newestCtimeNs >= racyAfter
		var old *chunk
		if prev != nil {
			old = prev.chunks[ch.items[0].hdr.Name]
		}
		if old != nil && sameItems(old.items, ch.items) {
			ch.key = old.key
		} else {
			ch.key = chunkKey(&p.opts, ch.items)
		}
		st.BytesIn += ch.rawBytes
		chunks = append(chunks, ch)
		if ch.m = p.lookup(prev, ch, built); ch.m == nil {
			todo = append(todo, ch)
		}
	}
	st.ChunksTotal = len(chunks)
	stale, err = p.build(ctx, tree, todo)
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

// items builds the archive's items from the tree: headers, synthetic
// entries in their place, inode numbers.
func (p *Packer) items(prev *lastPack, tree *rootfs.Tree) ([]item, []string, error) {
	extra, warns := synthesize(tree.Entries, p.opts.NoAutoInit)
	// The synthetic items are merged in archive order in the same pass: an
	// insert into the whole slice per item would move every item after it.
	slices.SortFunc(extra, func(a, b item) int { return rootfs.ComparePaths(a.hdr.Name, b.hdr.Name) })
	var items, old []item
	if prev != nil {
		items, old = prev.spare[:0], prev.items
	}
	if n := len(tree.Entries) + len(extra); cap(items) < n {
		items = make([]item, 0, n+n/16)
	}
	for i := range tree.Entries {
		e := &tree.Entries[i]
		for len(extra) > 0 && rootfs.ComparePaths(extra[0].hdr.Name, e.Path) < 0 {
			items = append(items, extra[0])
			extra = extra[1:]
		}
		var it item
		var ok bool
		if it, old, ok = reusedItem(old, e); !ok {
			h, err := header(e, p.opts.RootOwner)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", tree.Root, err)
			}
			it = item{e: e, hdr: h, hash: pathHash(e.Path)}
		}
		items = append(items, it)
	}
	items = append(items, extra...)
	clear(items[len(items):cap(items)]) // what is left of an old tree
	assignInodes(items)
	return items, warns, nil
}
