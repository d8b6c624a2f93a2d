package cache

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liveiso/liveiso/cache/internal/store"
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
// of the Pack minus the racy window cannot have been written since without its
// ctime changing. A chunk holding a file younger than that is racy: its
// member is used for this Pack's initrd but kept in no cache, memory or disk,
// until re-reading its files after the window gives the bytes it was made
// from (Settle, or the next Pack: settle.go). 2 s is far above any Linux
// file system's timestamp granularity (ext4/xfs/btrfs/tmpfs: the kernel
// tick; FAT: 2 s). Options.RacyWindow changes it (tests shorten it).
// Exported for whoever paces writes around it (the soak lets a file
// outlive it, so that a later Pack stores the file's member).
const DefaultRacyWindow = 2 * time.Second

// racyAfter is the oldest ctime that is racy for a Pack that started at
// start, with the racy window racy.
func racyAfter(start time.Time, racy time.Duration) int64 {
	return start.Add(-racy).UnixNano()
}

// maxRescans bounds how often one Pack rescans files that changed while it
// read them before it gives up with ErrKeepsChanging.
const maxRescans = 3

// Packer turns a rootfs directory into initrds, remembering members across
// Packs (in memory and in the disk store) so that an edit costs only the
// chunks it touches.
type Packer struct {
	opts  Options
	log   *slog.Logger
	store *store.Store // nil: no disk store
	mem   *memCache
	// memMu guards mem: a speculative build (spec.go) adds to it while the
	// Pack that started it looks members up.
	memMu sync.Mutex
	// last is what the last good Pack left for the next one; a Pack swaps
	// in a new value only when it succeeds.
	last *lastPack
	// older is the tree of the Pack before last, which nothing reads any
	// more: the next rescan builds its tree in its memory.
	older *rootfs.Tree
	// racy is Options.RacyWindow; tests in this package also set it to 0.
	racy time.Duration
	// afterScan, if set, runs between the scan and the reading of files
	// (tests change the tree there); afterReread, after Settle re-read a
	// chunk's files and before it compares their bytes.
	afterScan   func()
	afterReread func(*chunk)
	// compressions counts the members this Packer compressed: tests check
	// that settling compresses none.
	compressions atomic.Int64
	// guessed counts the members this Packer took from a speculative build
	// (spec.go), for tests.
	guessed atomic.Int64
	// tools are the build workers' encoders and buffers, kept from Pack to
	// Pack (see tools.go).
	tools toolbox
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
	p := &Packer{opts: o, log: log, racy: o.RacyWindow}
	if o.CacheDir != "" {
		if p.store, err = store.Open(o.CacheDir, store.Options{LimitBytes: o.CacheSizeBytes, Log: log}); err != nil {
			return nil, err
		}
	}
	p.mem = newMemCache(o.MemoryLimitBytes)
	return p, nil
}

// memAdd is mem.add under memMu.
func (p *Packer) memAdd(m *member) []*member {
	p.memMu.Lock()
	defer p.memMu.Unlock()
	return p.mem.add(m)
}

// spill moves members the memory cache let go of to their store files; a
// member without one stays in memory for as long as an Initrd holds it.
// It reads the files, so no lock may be held.
func (p *Packer) spill(evicted []*member) {
	if p.store == nil {
		return
	}
	for _, m := range evicted {
		spillMember(p.store, m)
	}
}

// Close releases the Packer's caches and, once every Pin of its Initrds
// is closed, its hold on the disk store. Initrds it made stay readable
// (unpinned, their members may lose their store files to a trim).
func (p *Packer) Close() error {
	if p.store != nil {
		p.store.Close()
	}
	p.memMu.Lock()
	p.mem = newMemCache(p.opts.MemoryLimitBytes)
	p.memMu.Unlock()
	p.last = nil
	return nil
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
		p.store.Abandon() // the members this Pack loaded or wrote
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
		tree, err = rootfs.RescanInto(ctx, prev.tree, changed, ropts, p.older)
	}
	p.older = nil // taken, or of another root
	if err != nil {
		return nil, err
	}
	if p.afterScan != nil {
		p.afterScan()
	}
	var spec *speculation
	if changed != nil {
		spec = p.speculate(ctx, prev, tree, changed, racyAfter(start, p.racy))
	}
	defer spec.stop()
	built := map[memberKey]*member{} // members built by this Pack, racy ones too
	for round := 0; ; round++ {
		chunks, items, st, stale, err := p.packTree(ctx, prev, tree, start, built, spec)
		spec = nil // its guesses were of the first round's tree
		if err != nil {
			return nil, err
		}
		if len(stale) == 0 {
			r, next, err := p.finish(prev, tree, chunks, items, st)
			if err != nil {
				return nil, err
			}
			p.last = next
			if prev != nil && prev.tree != tree {
				p.older = prev.tree
			}
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
