package watch

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"
)

// hooks let tests reach what a real kernel only does under duress.
type hooks struct {
	addWatch func(path string) error // called before every inotify_add_watch; an error replaces it
	errs     <-chan error            // read like fsnotify's error channel
	maxPaths int                     // 0 means maxBatchPaths
}

// Watcher reports changes below a rootfs directory as Batches.
type Watcher struct {
	opts  Options
	log   *slog.Logger
	hooks hooks
	dirs  dirs

	// Owned by the loop goroutine once New returns.
	fsw    *fsnotify.Watcher // nil while polling
	poll   *time.Ticker      // non-nil while polling
	warned bool              // the watch-limit warning was logged

	batches   chan Batch
	rescan    chan struct{}
	done      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New watches every directory below root and starts reporting changes. It
// returns once the watches are in place, so a full scan started after New
// returns misses nothing. When the kernel's inotify limits are exhausted New
// still succeeds, logs a warning and polls (see the package comment).
func New(root string, opts Options, log *slog.Logger) (*Watcher, error) {
	return newWatcher(root, opts, log, hooks{})
}

func newWatcher(root string, opts Options, log *slog.Logger, h hooks) (*Watcher, error) {
	opts = opts.withDefaults()
	if h.maxPaths <= 0 {
		h.maxPaths = maxBatchPaths
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(root)
	if err == nil {
		// The root itself may be reached through a symlink; what is below
		// it never is.
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	rootFD, err := unix.Open(abs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", abs, err)
	}
	w := &Watcher{
		opts:    opts,
		log:     log,
		hooks:   h,
		dirs:    dirs{root: abs, rootFD: rootFD, nodes: make(map[string]*dirNode)},
		batches: make(chan Batch),
		rescan:  make(chan struct{}, 1),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	start := time.Now()
	if err := w.startInotify(); err != nil {
		w.stopInotify()
		unix.Close(rootFD)
		return nil, fmt.Errorf("watch %s: %w", abs, err)
	}
	if w.fsw != nil {
		w.log.Info("watching rootfs", "path", abs, "watches", len(w.dirs.nodes),
			"ms", time.Since(start).Milliseconds())
	}
	go w.loop()
	return w, nil
}

// Batches delivers the batches; it is closed after Close. A batch that the
// reader does not take at once absorbs the changes that follow it, so a slow
// reader gets fewer, larger batches and never misses a change.
func (w *Watcher) Batches() <-chan Batch { return w.batches }

// Rescan asks for a Full batch, emitted promptly. It also re-walks the tree to
// repair the watches, or, after a fall back to polling, tries inotify again.
func (w *Watcher) Rescan() {
	select {
	case w.rescan <- struct{}{}:
	default: // one is already on its way
	}
}

// Close stops watching, releases the watches and closes Batches.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() { close(w.done) })
	<-w.stopped
	return w.closeErr
}

// rel returns the rootfs-relative path of an event's name.
func (w *Watcher) rel(name string) (string, bool) {
	r, err := filepath.Rel(w.dirs.root, name)
	if err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return r, true
}

// handle turns one event into changed paths in p, keeping the watches in step.
func (w *Watcher) handle(ev fsnotify.Event, p *pending) {
	rel, ok := w.rel(ev.Name)
	if !ok {
		w.log.Debug("event outside the root", "path", ev.Name)
		return
	}
	gone := ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
	if gone {
		// Gone from here (a renamed directory's watches would go on
		// reporting under the old name): drop its watches and those below.
		w.dirs.unwatch(rel, w.remove)
		if rel == "." {
			w.log.Warn("the rootfs directory itself was removed or renamed", "path", w.dirs.root)
		}
	}
	dir := false
	// Events arrive after the fact: by the time a directory's MOVED_FROM is
	// read, another directory may stand under its name whose MOVED_TO was
	// handled already (renameat2 RENAME_EXCHANGE): what is there now is
	// watched again, as if created. Not if it is still watched under its
	// old name, whose own MOVED_FROM is yet to come: a second
	// inotify_add_watch would only share that watch, which goes with it.
	if ev.Has(fsnotify.Create) || gone && rel != "." {
		if id, err := w.dirs.id(rel); err == nil && (!gone || !w.dirs.watching(id)) {
			// A new directory, maybe moved in with contents: watch it all
			// before it goes out in a batch, so anything created after the
			// packer's rescan of it raises an event.
			dir = true
			if err := w.dirs.watchTree(rel, nil, w.add, w.remove, w.skipped); err != nil {
				w.fallBack(err)
				p.setFull()
			}
		}
	}
	p.add(rel, dir, w.hooks.maxPaths)
}

// handleError deals with an error from inotify.
func (w *Watcher) handleError(err error, p *pending) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.Warn("inotify event queue overflowed; rescanning everything", "full", true,
			"hint", "raise fs.inotify.max_queued_events")
	} else {
		w.log.Warn("inotify error; rescanning everything", "full", true, "err", err)
	}
	// Events were lost, among them maybe the creation of directories that
	// now need watches.
	w.resync()
	p.setFull()
}

// loop runs until Close: it gathers events into the pending batch, decides
// when a batch is due and hands it to the reader.
func (w *Watcher) loop() {
	var (
		p      pending  // the batch being gathered
		ready  *pending // a due batch the reader has not taken yet
		readyB Batch    // ready as a Batch
		timer  = time.NewTimer(time.Hour)
		armed  bool
		prev   time.Time // the latest change, of any batch
		tm     = timing{
			settle:   min(w.opts.Settle, w.opts.Debounce),
			debounce: w.opts.Debounce,
			// A pause inside a burst (between two packages apt
			// unpacks) may outlast Debounce; what follows it is still
			// the burst, not a lone edit.
			loneIdle: 4 * w.opts.Debounce,
			maxDelay: w.opts.MaxDelay,
		}
	)
	timer.Stop()
	defer func() {
		timer.Stop()
		if w.poll != nil {
			w.poll.Stop()
		}
		if w.fsw != nil {
			w.closeErr = w.fsw.Close()
		}
		unix.Close(w.dirs.rootFD)
		close(w.batches)
		close(w.stopped)
	}()
	changed := func() {
		now := time.Now()
		p.touch(now, prev)
		prev = now
		if !armed {
			timer.Reset(p.due(tm).Sub(now))
			armed = true
		}
	}
	emit := func() {
		if p.empty() {
			return
		}
		if ready == nil {
			ready = &pending{}
		}
		ready.merge(&p, w.hooks.maxPaths)
		readyB = ready.batch()
		p = pending{}
		timer.Stop()
		armed = false
	}
	for {
		var (
			out    chan<- Batch
			events <-chan fsnotify.Event
			errs   <-chan error
			tick   <-chan time.Time
		)
		if ready != nil {
			out = w.batches
		}
		if w.fsw != nil {
			events, errs = w.fsw.Events, w.fsw.Errors
		}
		if w.poll != nil {
			tick = w.poll.C
		}
		select {
		case <-w.done:
			return
		case out <- readyB:
			w.log.Debug("batch", "paths", len(readyB.Paths), "full", readyB.Full)
			ready, readyB = nil, Batch{}
		case ev, ok := <-events:
			if !ok { // only Close closes it; never leave the tree unwatched
				w.fallBack(errors.New("inotify closed"))
				break
			}
			w.handle(ev, &p)
			changed()
		case err := <-errs:
			w.handleError(err, &p)
			changed()
		case err := <-w.hooks.errs:
			w.handleError(err, &p)
			changed()
		case <-timer.C:
			armed = false
			now := time.Now()
			if due := p.due(tm); now.Before(due) {
				timer.Reset(due.Sub(now))
				armed = true
				break
			}
			emit()
		case <-tick:
			p.setFull()
			p.touch(time.Now(), prev)
			emit()
		case <-w.rescan:
			w.resync()
			p.setFull()
			p.touch(time.Now(), prev)
			emit()
		}
	}
}
