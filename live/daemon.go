package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/watch"
)

// MiB is the unit of the automatic capacity.
const MiB = 1 << 20

// headroomBytes is the least headroom the automatic capacity leaves beyond
// the first image, so that ordinary edits (a package or two) never change the
// size a running QEMU or loop device has seen.
const headroomBytes = 256 * MiB

// maxCancels bounds how often a build in progress is abandoned for a newer
// edit. Under a never-ending stream of edits the build must finish sometimes,
// or no generation would ever be published.
const maxCancels = 3

// Options tune the daemon.
type Options struct {
	// CapacityBytes is the size of image.iso; 0 chooses it from the first
	// image (the larger of twice its size and its size plus 256 MiB).
	CapacityBytes int64
	Rootfs        string // for status.json
}

// Builder is what the daemon needs of generation.Builder.
type Builder interface {
	Build(ctx context.Context, changed []string) (*generation.Generation, error)
	// Settle caches the last generation's racy chunks once their files are
	// past the racy window, changing nothing in the image (settle.go).
	Settle(ctx context.Context) (cache.Settled, error)
}

// Daemon publishes generations to its subscribers, the outlets (the FUSE
// mount, the HTTP server, run). Its read side (Acquire, Current, Capacity,
// Status) is lock-free: every value is an atomically swapped immutable
// pointer.
type Daemon struct {
	builder Builder
	opts    Options
	log     *slog.Logger

	// current holds one reference to its generation (the one Build handed
	// over), released when a newer one replaces it.
	current  Current
	capacity atomic.Int64
	status   atomic.Pointer[statusDoc]

	// subsMu orders publications and subscriptions: every subscriber sees
	// every generation from the one current when it subscribed, once and
	// in order. It is never taken on a read path.
	subsMu sync.Mutex
	subs   []func(*Snapshot)

	// Only the Run goroutine (First before it) touches these.
	st      Status
	cancels int
	// settleDue says the current generation has racy chunks to settle
	// once the daemon is idle.
	settleDue bool
}

// New makes a daemon. Call First, then mount, then Run.
func New(b Builder, opts Options, log *slog.Logger) *Daemon {
	d := &Daemon{builder: b, opts: opts, log: log}
	d.st = Status{State: StateBuilding, Rootfs: opts.Rootfs}
	d.publishStatus()
	return d
}

// Current is the newest ready generation's snapshot, without a reference:
// its numbers may be read, its readers only after Acquire. nil before the
// first.
func (d *Daemon) Current() *Snapshot { return d.current.Load() }

// Acquire returns the newest ready generation's snapshot with a reference
// for the caller, who must Release it; nil before the first (and after
// Close).
func (d *Daemon) Acquire() *Snapshot { return d.current.Acquire() }

// Subscribe makes fn an outlet of the daemon: it is called with the current
// snapshot, if there is one, and then with every snapshot published, in
// order, each with a reference that fn owns and must Release (at once, or
// when it lets go of the snapshot). fn runs on the publishing goroutine
// and must not block: it stores a pointer, tells the kernel, sends on a
// buffered channel.
func (d *Daemon) Subscribe(fn func(*Snapshot)) {
	d.subsMu.Lock()
	defer d.subsMu.Unlock()
	d.subs = append(d.subs, fn)
	if s := d.current.Acquire(); s != nil {
		fn(s)
	}
}

// Close lets go of the current generation and of the subscribers;
// generations still held by an outlet stay readable until released. Call
// it after Run has returned.
func (d *Daemon) Close() {
	d.subsMu.Lock()
	defer d.subsMu.Unlock()
	d.subs = nil
	d.current.Replace(nil)
}

// Capacity is the size of image.iso.
func (d *Daemon) Capacity() int64 { return d.capacity.Load() }

// statusDoc is status.json as a value and as its bytes.
type statusDoc struct {
	st   Status
	json []byte
}

// Status is what status.json says.
func (d *Daemon) Status() Status { return d.status.Load().st }

// StatusJSON is the contents of status.json.
func (d *Daemon) StatusJSON() []byte { return d.status.Load().json }

// First builds and publishes the first generation. Its error is fatal: there
// is nothing to serve yet. The generation returned is the daemon's: read its
// fields, and Retain it to read its bytes.
func (d *Daemon) First(ctx context.Context) (*generation.Generation, error) {
	d.st.Started++
	g, err := d.builder.Build(ctx, nil)
	if err != nil {
		d.fail(err)
		return nil, err
	}
	d.publish(g)
	return g, nil
}

// Run turns batches into generations until ctx ends or the watcher closes,
// and publishes each to the subscribers.
func (d *Daemon) Run(ctx context.Context, batches <-chan watch.Batch) {
	var p pending
	for ctx.Err() == nil {
		// Idle: settle the current generation's racy chunks meanwhile; a
		// batch cancels that, and the build waits until it has stopped (the
		// builder does one thing at a time).
		var settle *settleRun
		var settled <-chan settleResult
		if d.settleDue {
			settle = d.startSettle(ctx)
			settled = settle.done
		}
		select {
		case <-ctx.Done():
			d.stopSettle(settle)
			return
		case r := <-settled:
			d.settled(r)
			continue
		case b, ok := <-batches:
			d.stopSettle(settle)
			if !ok {
				return
			}
			p.add(b)
		}
		for p.fresh && ctx.Err() == nil {
			if !d.buildOnce(ctx, batches, &p) {
				return
			}
		}
	}
}

// buildOnce builds from everything pending. A batch that arrives during the
// build cancels it (up to maxCancels times in a row) so the next build starts
// from the newest tree. The watcher keeps a burst to few batches (see
// watch.Options), so this is the rest of a burst after its early batch, not
// every file of it. It reports false when the batches channel closed.
func (d *Daemon) buildOnce(ctx context.Context, batches <-chan watch.Batch, p *pending) bool {
	changed, full := p.take()
	if full {
		changed = nil
	}
	d.st.State = StateBuilding
	d.st.Error = "" // it is the failure of the last finished build, in state "error" only
	d.st.Started++
	d.publishStatus()

	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		g   *generation.Generation
		err error
	}
	done := make(chan result, 1)
	go func() {
		g, err := d.builder.Build(bctx, changed)
		done <- result{g, err}
	}()

	open := true
	for {
		select {
		case r := <-done:
			switch {
			case r.err == nil:
				d.cancels = 0
				d.publish(r.g)
				return open
			case bctx.Err() != nil:
				// Cancelled for a newer edit or shutdown: everything it was
				// to cover is still pending.
				d.cancels++
				d.st.Cancelled++
				d.publishStatus()
				p.restore(changed, full)
			default:
				// A build that ran to its end, failed or not, ends the
				// run of cancellations: the next edit may cancel again.
				d.cancels = 0
				// Keep the paths: the next build must look at them again,
				// or a fixed file would stay missing from the image.
				p.restore(changed, full)
				d.fail(r.err)
			}
			return open
		case b, ok := <-batches:
			if !ok {
				open, batches = false, nil
				cancel()
				continue
			}
			p.add(b)
			if d.cancels < maxCancels {
				d.log.Debug("newer edit, restarting build", "paths", len(b.Paths))
				cancel()
			}
		}
	}
}

// publish makes g the current generation, taking over the caller's
// reference to it.
func (d *Daemon) publish(g *generation.Generation) {
	size := g.Image.Size()
	capacity := d.capacity.Load()
	switch {
	case capacity == 0 && d.opts.CapacityBytes > 0:
		capacity = d.opts.CapacityBytes
		if capacity < size {
			capacity = autoCapacity(size)
			d.log.Warn("--capacity is smaller than the image; using the automatic capacity instead",
				"requested", d.opts.CapacityBytes, "image_size", size, "capacity", capacity)
		}
	case capacity == 0:
		capacity = autoCapacity(size)
	case size > capacity:
		grown := autoCapacity(size)
		d.log.Warn("image outgrew its capacity; image.iso grows, and readers that opened it before (QEMU, loop devices) must reopen it to see the new size",
			"generation", g.Number, "image_size", size, "old_capacity", capacity, "capacity", grown)
		capacity = grown
		d.st.CapacityGrown++
	}
	d.capacity.Store(capacity)

	s := g.Stats
	d.st = Status{
		Generation:        g.Number,
		State:             StateReady,
		ImageSize:         size,
		Capacity:          capacity,
		CapacityGrown:     d.st.CapacityGrown,
		InitrdSize:        g.Initrd.Size(),
		ChunksTotal:       s.ChunksTotal,
		ChunksRebuilt:     s.ChunksRebuilt,
		ChunksRacy:        s.ChunksRacy,
		BytesCompressed:   s.BytesCompressed,
		Entries:           s.Entries,
		Files:             g.Files,
		BuildMs:           g.Took.Milliseconds(),
		Rootfs:            d.opts.Rootfs,
		Warnings:          g.Warnings,
		SecureBoot:        g.SecureBoot,
		Joliet:            g.Joliet,
		BuildCounts:       d.st.BuildCounts,
		Compression:       string(g.Compression.Compression),
		CompressionReason: g.Compression.Reason,
	}
	d.st.Published++
	snap := &Snapshot{
		Generation: g.Number,
		Image:      g.Image,
		ImageSize:  size,
		Capacity:   capacity,
		Initrd:     g.Initrd,
		InitrdSize: g.Initrd.Size(),
		Kernel:     g.Kernel,
		KernelSize: g.KernelSize,
		Published:  time.Now(),
		Holds:      g, // Build's reference
	}
	if g.UKI != nil { // a nil *uki.Layout is not a nil io.ReaderAt
		snap.UKI, snap.UKISize = g.UKI, g.UKI.Size()
	}
	d.st.UKISize = snap.UKISize
	d.st.ReadyAt = snap.Published.UTC().Format(time.RFC3339Nano)
	snap.Status = d.st
	d.settleDue = s.ChunksRacy > 0

	d.subsMu.Lock()
	defer d.subsMu.Unlock()
	// The outlets first, then status.json: a reader that sees the new
	// generation in status.json finds it in every outlet.
	d.current.Replace(snap)
	for _, fn := range d.subs {
		snap.Retain()
		fn(snap)
	}
	d.publishStatus()
	d.log.Info("generation ready", "generation", g.Number, "ms", g.Took.Milliseconds(),
		"chunks_rebuilt", s.ChunksRebuilt, "chunks_total", s.ChunksTotal, "chunks_racy", s.ChunksRacy,
		"image_size", size, "initrd_size", g.Initrd.Size())
}

// fail records a build failure. The current generation stays.
func (d *Daemon) fail(err error) {
	d.st.Failed++
	// The builder's last pack may be this failed build's, not the served
	// generation's: nothing to settle for the one served.
	d.settleDue = false
	d.st.State = StateError
	d.st.Error = err.Error()
	d.publishStatus()
	if d.st.Generation == 0 {
		d.log.Error("build failed", "err", err)
		return
	}
	d.log.Error("build failed; still serving the last good generation", "generation", d.st.Generation, "err", err)
}

func (d *Daemon) publishStatus() {
	b, err := json.MarshalIndent(d.st, "", "  ")
	if err != nil {
		panic(err) // Status has only plain fields
	}
	d.status.Store(&statusDoc{st: d.st, json: append(b, '\n')})
}

// autoCapacity is the default size of image.iso for an image of size bytes.
func autoCapacity(size int64) int64 {
	c := max(2*size, size+headroomBytes)
	return (c + MiB - 1) / MiB * MiB
}

// pending accumulates changed paths between successful builds.
type pending struct {
	paths map[string]bool
	full  bool
	// fresh says a batch came since the last build started. A failed build
	// is not retried until then: retrying an unreadable file in a loop
	// would only repeat the error.
	fresh bool
}

func (p *pending) add(b watch.Batch) {
	p.fresh = true
	p.merge(b)
}

func (p *pending) merge(b watch.Batch) {
	if b.Full {
		p.full = true
	}
	if p.paths == nil {
		p.paths = make(map[string]bool)
	}
	for _, path := range b.Paths {
		p.paths[path] = true
	}
}

// take empties p and returns what it held, sorted.
func (p *pending) take() ([]string, bool) {
	paths := make([]string, 0, len(p.paths))
	for path := range p.paths {
		paths = append(paths, path)
	}
	slices.Sort(paths)
	full := p.full
	p.paths, p.full, p.fresh = nil, false, false
	return paths, full
}

// restore puts back what a build that did not succeed had taken.
func (p *pending) restore(paths []string, full bool) {
	p.merge(watch.Batch{Paths: paths, Full: full})
}
