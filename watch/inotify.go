package watch

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"
)

// startInotify sets up inotify and watches the whole tree. Running out of
// watches is not an error: it switches to polling.
func (w *Watcher) startInotify() error {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		if isWatchLimit(err) {
			w.fallBack(err)
			return nil
		}
		return err
	}
	w.fsw = fsw
	clear(w.dirs.nodes)
	if err := w.dirs.watchTree(".", nil, w.add, w.remove, w.skipped); err != nil {
		w.fallBack(err)
		return nil
	}
	if _, ok := w.dirs.nodes["."]; !ok {
		return errors.New("cannot watch the root directory")
	}
	return nil
}

func (w *Watcher) stopInotify() {
	if w.fsw == nil {
		return
	}
	if err := w.fsw.Close(); err != nil {
		w.log.Warn("close inotify", "err", err)
	}
	w.fsw = nil
	clear(w.dirs.nodes)
}

// fallBack gives up inotify after err (a watch limit) and polls. The watches
// already held are released: without all of them the tree must be polled
// anyway, and holding them starves other programs of the same user.
func (w *Watcher) fallBack(err error) {
	held := len(w.dirs.nodes)
	w.stopInotify()
	if w.poll == nil {
		w.poll = time.NewTicker(w.opts.PollInterval)
	}
	if w.warned {
		w.log.Debug("inotify limit still reached", "err", err)
		return
	}
	w.warned = true
	// fs.inotify.max_user_* is the initial user namespace's view of
	// /proc/sys/user/max_inotify_*; inside a container the namespace's own,
	// possibly lower, limit is what ran out.
	limit, nsLimit, suggest := "max_user_watches", "max_inotify_watches", "524288"
	if errors.Is(err, unix.EMFILE) {
		limit, nsLimit, suggest = "max_user_instances", "max_inotify_instances", "1024"
	}
	file := "/proc/sys/fs/inotify/" + limit
	current, nsCurrent := readLimit(file), readLimit("/proc/sys/user/"+nsLimit)
	where := fmt.Sprintf("%s, now %s", file, current)
	if nsCurrent != current {
		where += fmt.Sprintf("; in this user namespace /proc/sys/user/%s, now %s", nsLimit, nsCurrent)
	}
	w.log.Warn(fmt.Sprintf("inotify limit fs.inotify.%s reached (%s): falling back to a full rescan every %v; "+
		"raise it with `sysctl fs.inotify.%s=%s` (persist it in /etc/sysctl.d/), then send SIGHUP to watch again",
		limit, where, w.opts.PollInterval, limit, suggest),
		"limit", file, "current", current, "watches", held, "poll_interval", w.opts.PollInterval.String(), "err", err)
}

func readLimit(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// add is how a directory's watch is added.
func (w *Watcher) add(abs string) error {
	if w.hooks.addWatch != nil {
		if err := w.hooks.addWatch(abs); err != nil {
			return err
		}
	}
	return w.fsw.Add(abs)
}

func (w *Watcher) remove(abs string) {
	// An error means the kernel dropped the watch already (the directory is
	// gone), which is what was wanted.
	_ = w.fsw.Remove(abs)
}

func (w *Watcher) skipped(rel string, err error) {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) ||
		errors.Is(err, unix.EXDEV) || errors.Is(err, errRaced) {
		// Gone, replaced or a symlink: its parent's watch reports that.
		w.log.Debug("not watching", "path", rel, "err", err)
		return
	}
	w.log.Warn("cannot watch directory; changes below it are seen only by full rescans", "path", rel, "err", err)
}

// resync re-walks the tree: it watches directories whose creation was lost (an
// overflowed queue) and drops watches of directories that are gone. Polling,
// it tries inotify again.
func (w *Watcher) resync() {
	if w.fsw == nil {
		start := time.Now()
		if err := w.startInotify(); err != nil {
			w.log.Warn("restart inotify", "err", err)
			w.stopInotify()
			return
		}
		if w.fsw != nil {
			w.poll.Stop()
			w.poll = nil
			w.warned = false
			w.log.Info("watching rootfs again", "path", w.dirs.root, "watches", len(w.dirs.nodes),
				"ms", time.Since(start).Milliseconds())
		}
		return
	}
	seen := make(map[string]struct{}, len(w.dirs.nodes))
	if err := w.dirs.watchTree(".", seen, w.add, w.remove, w.skipped); err != nil {
		w.fallBack(err)
		return
	}
	for rel := range w.dirs.nodes {
		if _, ok := seen[rel]; !ok {
			w.dirs.unwatch(rel, w.remove)
		}
	}
}
