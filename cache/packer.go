package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liveiso/liveiso/newc"
	"github.com/liveiso/liveiso/rootfs"
)

// Stats are the counters of one Pack.
type Stats struct {
	Entries         int // cpio entries in the archive
	ChunksTotal     int
	ChunksRebuilt   int       // chunks this Pack had to encode+compress (missed both caches)
	ChunksReread    int       // racy chunks of the last Pack whose files, re-read, gave the same bytes: not compressed again
	ChunksRacy      int       // racy chunks: in this initrd, in no cache yet (see Settle)
	SettleAt        time.Time // when the racy chunks' files are past the racy window; zero without racy chunks
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
// until re-reading its files after the window gives the bytes it was made
// from (Settle, or the next Pack: settle.go). 2 s is far above any Linux
// file system's timestamp granularity (ext4/xfs/btrfs/tmpfs: the kernel
// tick; FAT: 2 s).
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
	// last is what the last good Pack left for the next one; a Pack swaps
	// in a new value only when it succeeds.
	last *lastPack
	// racy is racyWindow; tests shorten it.
	racy time.Duration
	// afterScan, if set, runs between the scan and the reading of files
	// (tests change the tree there); afterReread, after Settle re-read a
	// chunk's files and before it compares their bytes.
	afterScan   func()
	afterReread func(*chunk)
	// compressions counts the members this Packer compressed: tests check
	// that settling compresses none.
	compressions atomic.Int64
}

// lastPack is what the next Pack reuses of the last good one. A Pack makes
// it whole at its end and swaps it in; nothing changes it after that, but
// for spare, which the next Pack takes over.
type lastPack struct {
	tree *rootfs.Tree
	// members are those of its Initrd that are not racy, by key, so the next
	// Pack reuses them even when the memory cache has let go of them.
	members map[memberKey]*member
	// racy are its racy chunks by key, each with a member that knows the
	// hash of the bytes it was made from (see settle.go).
	racy map[memberKey]*chunk
	// chunks are its chunks by the path of their first item, so that a
	// chunk whose items are all as they were gets its key without hashing
	// them again (see sameItems).
	chunks map[string]*chunk
	// items are its items in member order, so that the next Pack copies the
	// item of an entry that is as it was instead of making its header and
	// hashes again (see reusedItem); chunks hold parts of it.
	items []item
	// spare is the item slice of the Pack before, which nothing refers to
	// any more: the next Pack fills it, rather than leaving a slice of every
	// entry to the garbage collector on each edit.
	spare []item
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
	p := &Packer{opts: o, log: log, racy: racyWindow}
	if o.CacheDir != "" {
		if p.store, err = openStore(o.CacheDir, o.CacheSizeBytes, log); err != nil {
			return nil, err
		}
	}
	p.mem = newMemCache(o.MemoryLimitBytes)
	return p, nil
}

// spill moves members the memory cache let go of to their store files; a
// member without one stays in memory for as long as an Initrd holds it.
// It reads the files, so no lock may be held.
func (p *Packer) spill(evicted []*member) {
	if p.store == nil {
		return
	}
	for _, m := range evicted {
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
	p.mem = newMemCache(p.opts.MemoryLimitBytes)
	p.last = nil
	return nil
}

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

// Pack scans root and returns the initrd. changed lists rootfs-relative
// paths that may have changed since the last Pack on this Packer that
// succeeded ("." is the root); nil means rescan everything. A Pack that
// fails leaves the Packer as the last good one left it, so the caller
// passes its paths again (live does). For each changed path the packer
// re-reads the listing of its parent directory, re-lstats the path, and if
// it is a directory rescans its whole subtree. Everything else may be reused
// from the previous scan. Pack calls are serialised by the caller. ctx
// cancels a Pack in progress.
func (p *Packer) Pack(ctx context.Context, root string, changed []string) (*Initrd, error) {
	r, err := p.pack(ctx, root, changed)
	if err != nil && p.store != nil {
		p.store.abandon() // the members this Pack loaded or wrote
	}
	return r, err
}

func (p *Packer) pack(ctx context.Context, root string, changed []string) (*Initrd, error) {
	start := time.Now()
	prev := p.last
	ropts := rootfs.Options{Excludes: p.opts.Excludes}
	var tree *rootfs.Tree
	var err error
	if prev == nil || changed == nil || prev.tree.Root != root {
		tree, err = rootfs.Scan(ctx, root, ropts)
	} else {
		tree, err = rootfs.Rescan(ctx, prev.tree, changed, ropts)
	}
	if err != nil {
		return nil, err
	}
	if p.afterScan != nil {
		p.afterScan()
	}
	built := map[memberKey]*member{} // members built by this Pack, racy ones too
	for round := 0; ; round++ {
		chunks, items, st, stale, err := p.packTree(ctx, prev, tree, start, built)
		if err != nil {
			return nil, err
		}
		if len(stale) == 0 {
			r, next, err := p.finish(prev, tree, chunks, items, st)
			if err != nil {
				return nil, err
			}
			p.last = next
			p.log.Info("packed initrd", "root", root, "entries", st.Entries, "chunks", st.ChunksTotal,
				"chunks_rebuilt", st.ChunksRebuilt, "chunks_reread", st.ChunksReread, "chunks_racy", st.ChunksRacy,
				"bytes_compressed", st.BytesCompressed,
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
// reused from this Pack. A chunk none of them has, but which was racy in the
// last Pack, gets that member as its earlier one, to be re-read.
func (p *Packer) lookup(prev *lastPack, ch *chunk, built map[memberKey]*member) *member {
	if m := built[ch.key]; m != nil {
		return m
	}
	if prev != nil {
		if old := prev.racy[ch.key]; old != nil {
			ch.earlier = old.m
		}
	}
	if ch.racy {
		return nil
	}
	if prev != nil {
		if m := prev.members[ch.key]; m != nil {
			return m
		}
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
				m, reread, err := p.makeMember(ctx, c, s, tree, ch)
				saved := false
				if err == nil && !ch.racy && p.store != nil {
					if serr := p.store.save(m); serr != nil {
						p.log.Warn("cache store not written", "err", serr)
					} else {
						saved = true
					}
				}
				mu.Lock()
				var evicted []*member
				if saved {
					// Into the memory cache at once, not at the end of the
					// Pack: past MemoryLimitBytes it moves the least recently
					// used members to their store files, so a cold build of
					// a big tree does not hold every member in memory.
					evicted = p.mem.add(m)
				}
				var ce *errChanged
				switch {
				case err == nil:
					ch.m, ch.reread = m, reread
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
				p.spill(evicted)
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

// makeMember makes ch's member: its earlier one if re-reading the chunk's
// files gives the bytes that member was made from (which compressing them
// again would give too), else a new one, which keeps the hash of its bytes
// if it is racy.
func (p *Packer) makeMember(ctx context.Context, c *compressor, s *scratch, tree *rootfs.Tree, ch *chunk) (m *member, reread bool, err error) {
	if e := ch.earlier; e != nil && e.rawSum != nil {
		sum, err := rawSum(ctx, s, tree, ch.items)
		if err != nil {
			return nil, false, err
		}
		if sum == *e.rawSum {
			return e, true, nil
		}
	}
	p.compressions.Add(1)
	m, err = buildMember(ctx, c, s, tree, ch)
	return m, false, err
}

// finish makes the Initrd of chunks and what the next Pack reuses of this
// one: the members that are not racy stay known by key and go to the memory
// cache.
func (p *Packer) finish(prev *lastPack, tree *rootfs.Tree, chunks []*chunk, items []item, st Stats) (*Initrd, *lastPack, error) {
	members := make([]Member, len(chunks))
	next := &lastPack{
		tree:    tree,
		members: make(map[memberKey]*member, len(chunks)),
		racy:    map[memberKey]*chunk{},
		chunks:  make(map[string]*chunk, len(chunks)),
		items:   items,
	}
	if prev != nil {
		next.spare = prev.items
	}
	var evicted, stored []*member
	for i, ch := range chunks {
		next.chunks[ch.items[0].hdr.Name] = ch
		members[i] = Member{Compression: ch.m.comp, SizeBytes: ch.m.sizeBytes, Data: ch.m}
		if ch.racy {
			next.racy[ch.key] = ch
		} else {
			next.members[ch.key] = ch.m
			stored = append(stored, ch.m)
			evicted = append(evicted, p.mem.add(ch.m)...)
		}
	}
	p.spill(evicted)
	r, err := Assemble(members)
	if err != nil {
		return nil, nil, err
	}
	r.stats = st
	r.stats.BytesIn += int64(len(newc.AppendTrailer(nil)))
	if p.store != nil {
		p.store.publish(stored, r.Size())
		r.store, r.stored = p.store, stored
	}
	return r, next, nil
}
