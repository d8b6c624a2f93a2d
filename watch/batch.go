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

// pending accumulates the changes of one batch until it is due.
type pending struct {
	paths   map[string]struct{} // every changed path
	newDirs map[string]struct{} // paths that appeared as directories: their subtrees are rescanned
	full    bool
	first   time.Time // first change of the batch
	last    time.Time // latest change of the batch
}

func (p *pending) empty() bool { return !p.full && len(p.paths) == 0 }

// touch records that a change happened at now.
func (p *pending) touch(now time.Time) {
	if p.first.IsZero() {
		p.first = now
	}
	p.last = now
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
}

// due returns when p must be emitted: after debounce of quiet, and at the
// latest maxDelay after its first change.
func (p *pending) due(debounce, maxDelay time.Duration) time.Time {
	quiet := p.last.Add(debounce)
	latest := p.first.Add(maxDelay)
	if latest.Before(quiet) {
		return latest
	}
	return quiet
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
