package watch

import (
	"path"
	"slices"
	"time"
)

// Batch is one set of changes for the packer.
type Batch struct {
	Paths []string // rootfs-relative changed paths, sorted, deduplicated, "." is the root
	Full  bool     // rescan everything (queue overflow, fallback poll, Rescan())
}

// maxBatchPaths bounds a batch: past it the batch turns Full. Listing more
// paths than this costs the packer about as much as a full rescan (which reuses
// every unchanged chunk anyway), and it bounds the memory a burst can take.
const maxBatchPaths = 10000

// loneEvents is the most events a lone edit makes: an editor's save is
// about a dozen (a probe file, a backup rename, the write, a chmod); apt and
// git make thousands.
const loneEvents = 32

// pending accumulates the changes of one batch until it is due.
type pending struct {
	paths   map[string]struct{} // every changed path
	newDirs map[string]struct{} // paths that appeared as directories: their subtrees are rescanned
	full    bool
	first   time.Time // first change of the batch
	last    time.Time // latest change of the batch
	events  int       // changes recorded by touch
	// quietBefore is how long the tree had been quiet before first; a
	// batch that starts a burst comes after a long quiet too, and is told
	// apart by its number of events.
	quietBefore time.Duration
}

// timing is when a batch is due (the resolved Options).
type timing struct {
	settle   time.Duration // quiet time that ends a lone edit
	debounce time.Duration // quiet time that ends a burst
	loneIdle time.Duration // quiet time before a batch that can be a lone edit
	maxDelay time.Duration
}

func (p *pending) empty() bool { return !p.full && len(p.paths) == 0 }

// touch records that a change happened at now; prev is the time of the
// change before it, in any batch (zero if there was none).
func (p *pending) touch(now, prev time.Time) {
	if p.first.IsZero() {
		p.first = now
		p.quietBefore = time.Duration(1<<63 - 1)
		if !prev.IsZero() {
			p.quietBefore = now.Sub(prev)
		}
	}
	p.last = now
	p.events++
}

// add records a changed path; dir says it appeared as a directory whose whole
// subtree the packer must rescan.
func (p *pending) add(rel string, dir bool, maxPaths int) {
	if p.full {
		return
	}
	if p.paths == nil {
		p.paths = make(map[string]struct{})
	}
	p.paths[rel] = struct{}{}
	if dir {
		if p.newDirs == nil {
			p.newDirs = make(map[string]struct{})
		}
		p.newDirs[rel] = struct{}{}
	}
	if len(p.paths) > maxPaths {
		p.setFull()
	}
}

func (p *pending) setFull() {
	p.full = true
	p.paths = nil
	p.newDirs = nil
}

// merge adds q's changes to p.
func (p *pending) merge(q *pending, maxPaths int) {
	if q.full {
		p.setFull()
	}
	for rel := range q.paths {
		_, dir := q.newDirs[rel]
		p.add(rel, dir, maxPaths)
	}
	if p.first.IsZero() || (!q.first.IsZero() && q.first.Before(p.first)) {
		p.first = q.first
	}
	if q.last.After(p.last) {
		p.last = q.last
	}
	p.events += q.events
}

// due returns when p must be emitted: after tm.debounce of quiet, and at the
// latest tm.maxDelay after its first change; a lone edit (a few events after
// a quiet tree) after only tm.settle of quiet. So a one-file edit is not held
// back by the debounce, while a burst is recognised by its number of events
// and still ends as one batch.
func (p *pending) due(tm timing) time.Time {
	wait := tm.debounce
	if p.lone(tm) {
		wait = tm.settle
	}
	quiet := p.last.Add(wait)
	latest := p.first.Add(tm.maxDelay)
	if latest.Before(quiet) {
		return latest
	}
	return quiet
}

// lone reports whether p looks like a lone edit.
func (p *pending) lone(tm timing) bool {
	return !p.full && p.events <= loneEvents && p.quietBefore >= tm.loneIdle
}

// batch returns p's changes as a Batch: sorted, deduplicated, and without the
// paths below a new directory, since the packer rescans that directory's whole
// subtree anyway. Only new directories swallow their descendants; a path below
// a directory that merely changed (chmod, a new entry) is kept.
func (p *pending) batch() Batch {
	if p.full {
		return Batch{Full: true}
	}
	paths := make([]string, 0, len(p.paths))
	for rel := range p.paths {
		if !p.belowNewDir(rel) {
			paths = append(paths, rel)
		}
	}
	slices.Sort(paths)
	return Batch{Paths: paths}
}

func (p *pending) belowNewDir(rel string) bool {
	if len(p.newDirs) == 0 {
		return false
	}
	for rel != "." {
		rel = path.Dir(rel)
		if _, ok := p.newDirs[rel]; ok {
			return true
		}
	}
	return false
}
