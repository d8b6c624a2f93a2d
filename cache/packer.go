package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/liveiso/liveiso/newc"
	"github.com/liveiso/liveiso/rootfs"
)

// Stats are the counters of one Pack.
type Stats struct {
	Entries         int // cpio entries in the archive
	ChunksTotal     int
	ChunksRebuilt   int       // chunks this Pack had to encode+compress (missed both caches)
	BytesIn         int64     // uncompressed cpio bytes of the whole archive
	BytesCompressed int64     // uncompressed bytes this Pack compressed
	NewestMtime     time.Time // newest mtime among entries (reproducible image dates)
	Warnings        []string  // skipped sockets, missing /init, ...
}

// Racy files. The cache trusts a file's content to be unchanged while its
// stat data is, but a write that lands within the timestamp granularity of
// the moment the file was read can leave size, mtime and ctime as they were.
// Every write sets ctime to the current time (and ctime cannot be set from
// user space, unlike mtime), so a file whose ctime is older than the start
// of the Pack minus racyWindow cannot have been written since without its
// ctime changing. A chunk holding a file younger than that is racy: its
// member is used for this Pack's initrd but kept in no cache, memory or disk,
// so the next Pack encodes it again, until the file is old enough. 2 s is
// far above any Linux file system's timestamp granularity (ext4/xfs/btrfs/
// tmpfs: the kernel tick; FAT: 2 s).
const racyWindow = 2 * time.Second

// maxRescans bounds how often one Pack rescans files that changed while it
// read them before it gives up with ErrKeepsChanging.
const maxRescans = 3

// Packer turns a rootfs directory into initrds, remembering members across
// Packs (in memory and in the disk store) so that an edit costs only the
// chunks it touches.
type Packer struct {
	opts  Options
	log   *slog.Logger
	store *store // nil: no disk store
	mem   *memCache
	tree  *rootfs.Tree
	// current holds the members of the last Initrd by key, so the next Pack
	// reuses them even when the memory cache has let go of them.
	current map[memberKey]*member
	// last holds the chunks of the last Initrd by the path of their first
	// item, so that a chunk whose items are all as they were gets its key
	// without hashing them again (see sameItems).
	last map[string]*chunk
	// lastItems are the items of the last Initrd in member order, so that
	// the next Pack copies the item of an entry that is as it was instead of
	// making its header and hashes again (see reusedItem); the chunks in
	// last hold parts of it. spareItems is the slice of the Initrd before,
	// which nothing refers to any more: the next Pack fills it, rather than
	// leaving a slice of every entry to the garbage collector on each edit.
	lastItems, spareItems []item
	// racy is racyWindow; tests shorten it.
	racy time.Duration
	// pending holds the changed paths of Packs that failed since the last
	// good one, so that the next Pack rescans them too.
	pending []string
	// afterScan, if set, runs between the scan and the reading of files
	// (tests change the tree there).
	afterScan func()
}

// NewPacker returns a Packer with opts (defaults filled in).
func NewPacker(opts Options, log *slog.Logger) (*Packer, error) {
	o, err := opts.resolved()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Packer{opts: o, log: log, current: map[memberKey]*member{}, racy: racyWindow}
	if o.CacheDir != "" {
		if p.store, err = openStore(o.CacheDir, o.CacheSizeBytes, log); err != nil {
			return nil, err
		}
	}
	p.mem = newMemCache(o.MemoryLimitBytes, p.evicted)
	return p, nil
}

// evicted is called when the memory cache lets go of m: a member with a
// store file is read from the file from now on.
func (p *Packer) evicted(m *member) {
	if p.store != nil {
		p.store.spill(m)
	}
}

// Close releases the Packer's caches and, once every Pin of its Initrds
// is closed, its hold on the disk store. Initrds it made stay readable
// (unpinned, their members may lose their store files to a trim).
func (p *Packer) Close() error {
	if p.store != nil {
		p.store.close()
	}
	p.mem = newMemCache(p.opts.MemoryLimitBytes, nil)
	p.current, p.last, p.lastItems, p.spareItems = map[memberKey]*member{}, nil, nil, nil
	p.tree = nil
	return nil
}

// chunk is a run of items that becomes one member.
type chunk struct {
	items    []item
	key      memberKey
	rawBytes int64
	racy     bool
	m        *member
}

// Pack scans root and returns the initrd. changed lists rootfs-relative
// paths that may have changed since the previous Pack on this Packer ("." is
// the root); nil means rescan everything. For each changed path the packer
// re-reads the listing of its parent directory, re-lstats the path, and if
// it is a directory rescans its whole subtree. Everything else may be reused
// from the previous scan. Pack calls are serialised by the caller. ctx
// cancels a Pack in progress.
func (p *Packer) Pack(ctx context.Context, root string, changed []string) (*Initrd, error) {
	if changed != nil {
		changed = append(p.pending, changed...)
	}
	r, err := p.pack(ctx, root, changed)
	if err != nil && p.store != nil {
		p.store.abandon()
	}
	switch {
	case err == nil:
		p.pending = nil
	case changed == nil:
		p.tree, p.pending = nil, nil // the next Pack scans everything
	default:
		p.pending = changed
	}
	return r, err
}

func (p *Packer) pack(ctx context.Context, root string, changed []string) (*Initrd, error) {
	start := time.Now()
	ropts := rootfs.Options{Excludes: p.opts.Excludes}
	var tree *rootfs.Tree
	var err error
	if p.tree == nil || changed == nil || p.tree.Root != root {
		tree, err = rootfs.Scan(ctx, root, ropts)
	} else {
		tree, err = rootfs.Rescan(ctx, p.tree, changed, ropts)
	}
	if err != nil {
		return nil, err
	}
	if p.afterScan != nil {
		p.afterScan()
	}
	built := map[memberKey]*member{} // members built by this Pack, racy ones too
	var st Stats
	for round := 0; ; round++ {
		var stale []string
		var chunks []*chunk
		var items []item
		chunks, items, st, stale, err = p.packTree(ctx, tree, start, built)
		if err != nil {
			return nil, err
		}
		if len(stale) == 0 {
			r, err := p.finish(chunks, st)
			if err != nil {
				return nil, err
			}
			p.tree, p.lastItems, p.spareItems = tree, items, p.lastItems
			p.log.Info("packed initrd", "root", root, "entries", st.Entries, "chunks", st.ChunksTotal,
				"chunks_rebuilt", st.ChunksRebuilt, "bytes_compressed", st.BytesCompressed,
				"size", r.Size(), "ms", time.Since(start).Milliseconds())
			return r, nil
		}
		if round == maxRescans {
			return nil, fmt.Errorf("pack %s: %s: %w", root, stale[0], ErrKeepsChanging)
		}
		p.log.Debug("files changed while read, rescanning", "paths", stale)
		if tree, err = rootfs.Rescan(ctx, tree, stale, ropts); err != nil {
			return nil, err
		}
	}
}

// packTree plans the chunks of tree and builds the members that no cache
// has. stale lists files that were not what the scan saw when read.
func (p *Packer) packTree(ctx context.Context, tree *rootfs.Tree, start time.Time, built map[memberKey]*member) (chunks []*chunk, items []item, st Stats, stale []string, err error) {
	items, warns, err := p.items(tree)
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
		ch := &chunk{items: ordered[s:end]}
		for j := range ch.items {
			it := &ch.items[j]
			ch.rawBytes += it.encodedLen()
			if it.fromTree() && it.e.CtimeNs >= racyAfter {
				ch.racy = true
			}
		}
		if old := p.last[ch.items[0].hdr.Name]; old != nil && sameItems(old.items, ch.items) {
			ch.key = old.key
		} else {
			ch.key = chunkKey(&p.opts, ch.items)
		}
		st.BytesIn += ch.rawBytes
		chunks = append(chunks, ch)
		if ch.m = p.lookup(ch, built); ch.m == nil {
			todo = append(todo, ch)
		}
	}
	st.ChunksTotal = len(chunks)
	stale, err = p.build(ctx, tree, todo)
	if err != nil {
		return nil, nil, st, nil, err
	}
	for _, ch := range todo {
		if ch.m != nil {
			built[ch.key] = ch.m
			st.ChunksRebuilt++
			st.BytesCompressed += ch.rawBytes
		}
	}
	return chunks, items, st, stale, nil
}

// items builds the archive's items from the tree: headers, synthetic
// entries in their place, inode numbers.
func (p *Packer) items(tree *rootfs.Tree) ([]item, []string, error) {
	extra, warns := synthesize(tree.Entries, p.opts.NoAutoInit)
	// The synthetic items are merged in archive order in the same pass: an
	// insert into the whole slice per item would move every item after it.
	slices.SortFunc(extra, func(a, b item) int { return rootfs.ComparePaths(a.hdr.Name, b.hdr.Name) })
	items := p.spareItems[:0]
	if n := len(tree.Entries) + len(extra); cap(items) < n {
		items = make([]item, 0, n+n/16)
	}
	prev := p.lastItems
	for i := range tree.Entries {
		e := &tree.Entries[i]
		for len(extra) > 0 && rootfs.ComparePaths(extra[0].hdr.Name, e.Path) < 0 {
			items = append(items, extra[0])
			extra = extra[1:]
		}
		var it item
		var ok bool
		if it, prev, ok = reusedItem(prev, e); !ok {
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

// reusedItem looks for e in prev, the rest of the last Pack's items from
// where the walk has got to, and returns the old item for e if its entry
// equals e and it is not a hard-link candidate; prev comes back advanced
// past the entries that sort before e. An item is a function of its entry
// and the Packer's options, but for the hard-link decisions of
// assignInodes, which it makes again anyway (the inode number from the
// hash), so the copy is exactly what header and pathHash would make. prev
// is in member order, archive order but for the few large items at the
// end: those are made again.
func reusedItem(prev []item, e *rootfs.Entry) (item, []item, bool) {
	for len(prev) > 0 {
		o := &prev[0]
		switch {
		case o.synth:
			prev = prev[1:]
		case o.e.Path == e.Path:
			if *o.e != *e || linkable(o.e) {
				return item{}, prev[1:], false
			}
			it := *o
			it.e = e
			return it, prev[1:], true
		case rootfs.ComparePaths(o.e.Path, e.Path) < 0:
			prev = prev[1:] // an entry that is gone
		default:
			return item{}, prev, false // e is new
		}
	}
	return item{}, prev, false
}

// lookup finds a chunk's member in this Pack's builds, the last Initrd, the
// memory cache and the disk store, in that order. A racy chunk is only
// reused from this Pack.
func (p *Packer) lookup(ch *chunk, built map[memberKey]*member) *member {
	if m := built[ch.key]; m != nil {
		return m
	}
	if ch.racy {
		return nil
	}
	if m := p.current[ch.key]; m != nil {
		return m
	}
	if m := p.mem.get(ch.key); m != nil {
		return m
	}
	if p.store == nil {
		return nil
	}
	m, err := p.store.load(ch.key, p.opts.Compression)
	if err != nil {
		p.log.Warn("cache store unreadable", "err", err)
		return nil
	}
	return m
}

// build encodes and compresses the chunks in todo on Workers goroutines and
// stores the members of those that are not racy. A chunk whose files were
// not what the scan saw is left without a member and its paths returned.
func (p *Packer) build(ctx context.Context, tree *rootfs.Tree, todo []*chunk) (stale []string, err error) {
	if len(todo) == 0 {
		return nil, nil
	}
	// Largest first: a big file started last would leave the other cores idle.
	order := slices.Clone(todo)
	slices.SortStableFunc(order, func(a, b *chunk) int {
		switch {
		case a.rawBytes > b.rawBytes:
			return -1
		case a.rawBytes < b.rawBytes:
			return 1
		}
		return 0
	})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan *chunk)
	var mu sync.Mutex
	var firstErr error
	var doneBytes, totalBytes int64
	for _, ch := range order {
		totalBytes += ch.rawBytes
	}
	var wg sync.WaitGroup
	for range min(p.opts.Workers, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &compressor{comp: p.opts.Compression, level: p.opts.Level, workers: p.opts.Workers}
			s := newScratch()
			for ch := range next {
				m, err := buildMember(ctx, c, s, tree, ch)
				saved := false
				if err == nil && !ch.racy && p.store != nil {
					if serr := p.store.save(m); serr != nil {
						p.log.Warn("cache store not written", "err", serr)
					} else {
						saved = true
					}
				}
				mu.Lock()
				if saved {
					// Into the memory cache at once, not at the end of the
					// Pack: past MemoryLimitBytes it moves the least recently
					// used members to their store files, so a cold build of
					// a big tree does not hold every member in memory.
					p.mem.add(m)
				}
				var ce *errChanged
				switch {
				case err == nil:
					ch.m = m
				case errors.As(err, &ce):
					stale = append(stale, ce.path)
				case firstErr == nil:
					firstErr = err
					cancel()
				}
				doneBytes += ch.rawBytes
				if p.opts.Progress != nil {
					p.opts.Progress(doneBytes, totalBytes)
				}
				mu.Unlock()
			}
		}()
	}
	for _, ch := range order {
		if ctx.Err() != nil {
			break
		}
		next <- ch
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.Sort(stale)
	return stale, nil
}

// finish makes the Initrd of chunks and updates the caches: the members of
// this Initrd become current, those not racy go to the memory cache.
func (p *Packer) finish(chunks []*chunk, st Stats) (*Initrd, error) {
	members := make([]Member, len(chunks))
	current := make(map[memberKey]*member, len(chunks))
	var stored []*member
	last := make(map[string]*chunk, len(chunks))
	for i, ch := range chunks {
		last[ch.items[0].hdr.Name] = ch
		members[i] = Member{Compression: ch.m.comp, SizeBytes: ch.m.sizeBytes, Data: ch.m}
		if !ch.racy {
			current[ch.key] = ch.m
			stored = append(stored, ch.m)
			p.mem.add(ch.m)
		}
	}
	r, err := Assemble(members)
	if err != nil {
		return nil, err
	}
	r.stats = st
	r.stats.BytesIn += int64(len(newc.AppendTrailer(nil)))
	if p.store != nil {
		p.store.publish(stored, r.Size())
		r.store, r.stored = p.store, stored
	}
	p.current, p.last = current, last
	return r, nil
}
