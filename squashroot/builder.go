package squashroot

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/rootfs"
	"github.com/liveiso/liveiso/squashfs"
)

// Builder makes squashfs Images of successive trees of one rootfs,
// compressing only files it has not compressed before. Build calls must
// not overlap. Close it when no Image of it is read any more.
type Builder struct {
	opts  Options
	log   *slog.Logger
	spool *spool
	files map[fileKey]*fileData // the last Build's files that are not racy
	// racy is cache.DefaultRacyWindow; tests shorten it.
	racy time.Duration
}

// Stats counts what a Build did.
type Stats struct {
	Files           int   // regular files with data (hard links once)
	FilesCompressed int   // of which compressed by this Build
	BytesRead       int64 // file bytes read and compressed
	RacyFiles       int   // compressed, but too young to be kept for the next Build
	DataBytes       int64 // stored data in the image
	MetadataBytes   int64 // inode, directory and id tables
	CompressMs      float64
	PlanMs          float64
	SpoolBytes      int64 // the spool's size after the Build
}

// NewBuilder returns a Builder; log may be nil.
func NewBuilder(opts Options, log *slog.Logger) (*Builder, error) {
	o, err := opts.resolved()
	if err != nil {
		return nil, err
	}
	sp, err := newSpool(o.SpoolDir)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Builder{opts: o, log: log, spool: sp, files: map[fileKey]*fileData{}, racy: cache.DefaultRacyWindow}, nil
}

// Close releases the spool: Images of the Builder are unreadable after it.
func (b *Builder) Close() error { return b.spool.close() }

// Build makes the image of tree. A file that is not what the scan saw is an
// error wrapping rootfs.ErrChanged (rescan and Build again).
func (b *Builder) Build(ctx context.Context, tree *rootfs.Tree) (*Image, error) {
	start := time.Now()
	racyAfter := start.Add(-b.racy).UnixNano()
	var st Stats
	// The data of each regular file, by entry (hard links: the first
	// entry of the group only).
	data := make([]*fileData, len(tree.Entries()))
	var todo []int
	seen := map[[2]uint64]bool{}
	for i := range tree.Entries() {
		e := &tree.Entries()[i]
		if e.Mode&squashfsTypeMask != sIFREG || e.Size == 0 {
			continue
		}
		if e.Nlink > 1 {
			id := [2]uint64{e.Dev, e.Ino}
			if seen[id] {
				continue
			}
			seen[id] = true
		}
		st.Files++
		if d, ok := b.files[keyOf(e)]; ok {
			data[i] = d
			continue
		}
		todo = append(todo, i)
	}
	made, err := b.compress(ctx, tree, todo, &st)
	if err != nil {
		return nil, err
	}
	st.CompressMs = float64(time.Since(start).Microseconds()) / 1000
	for j, i := range todo {
		e := &tree.Entries()[i]
		data[i] = made[j]
		if e.CtimeNs >= racyAfter {
			st.RacyFiles++
		} else {
			b.files[keyOf(e)] = made[j]
		}
	}
	// Files the tree no longer has are forgotten, now and then: sweeping
	// the map on every Build would cost as much as the lookups.
	if len(b.files) > st.Files+st.Files/4+64 {
		kept := make(map[fileKey]*fileData, st.Files)
		for i, d := range data {
			if d != nil && b.files[keyOf(&tree.Entries()[i])] == d {
				kept[keyOf(&tree.Entries()[i])] = d
			}
		}
		b.files = kept
	}
	planStart := time.Now()
	img, err := plan(tree, data, &b.opts, b.spool)
	if err != nil {
		return nil, err
	}
	st.PlanMs = float64(time.Since(planStart).Microseconds()) / 1000
	st.DataBytes, st.MetadataBytes = img.dataBytes, img.metadataBytes
	st.SpoolBytes = b.spool.bytesUsed()
	img.stats = st
	b.log.Debug("squashfs built", "files", st.Files, "files_compressed", st.FilesCompressed,
		"racy", st.RacyFiles, "compress_ms", st.CompressMs, "plan_ms", st.PlanMs, "bytes", img.Size())
	return img, nil
}

// compress compresses the files of todo on the Builder's workers, largest
// first, and returns their data in todo's order.
func (b *Builder) compress(ctx context.Context, tree *rootfs.Tree, todo []int, st *Stats) ([]*fileData, error) {
	out := make([]*fileData, len(todo))
	if len(todo) == 0 {
		return out, nil
	}
	order := make([]int, len(todo))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		return int(min(max(tree.Entries()[todo[y]].Size-tree.Entries()[todo[x]].Size, -1), 1))
	})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(b.opts.Workers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := b.work(ctx, tree, todo, out, next)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
				for range next { // let the feeder finish
				}
			}
		}()
	}
	for _, i := range order {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, i := range todo {
		st.BytesRead += tree.Entries()[i].Size
	}
	st.FilesCompressed = len(todo)
	return out, nil
}

func (b *Builder) work(ctx context.Context, tree *rootfs.Tree, todo []int, out []*fileData, next <-chan int) error {
	c, err := squashfs.NewCompressor(b.opts.Compression, b.opts.Level, b.opts.BlockSizeBytes)
	if err != nil {
		return err
	}
	op, err := tree.Opener()
	if err != nil {
		return err
	}
	defer op.Close()
	w := &worker{c: c, block: make([]byte, b.opts.BlockSizeBytes)}
	for i := range next {
		d, err := w.compressFile(ctx, op, b.spool, &tree.Entries()[todo[i]], int(b.opts.BlockSizeBytes))
		if err != nil {
			return err
		}
		out[i] = d
	}
	return nil
}
