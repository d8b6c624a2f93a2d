package cache

import "sync"

// tools are what a build worker uses from chunk to chunk: its compressor
// (whose encoders hold megabytes of tables and history) and its buffers.
type tools struct {
	c *compressor
	s *scratch
}

// toolbox keeps the tools of finished workers for the next Pack's, so an
// edit's Pack allocates no encoders: new ones for every Pack were a tenth
// of a one-file edit's time on the Debian minbase tree, in allocation and
// the zeroing of their buffers (MEASUREMENTS.md, cache). It keeps at most
// as many as there are workers.
type toolbox struct {
	mu    sync.Mutex
	spare []*tools
}

func (b *toolbox) get(o Options) *tools {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.spare); n > 0 {
		t := b.spare[n-1]
		b.spare = b.spare[:n-1]
		return t
	}
	return &tools{
		c: &compressor{comp: o.Compression, level: o.Level, workers: o.Workers},
		s: newScratch(),
	}
}

func (b *toolbox) put(t *tools) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spare = append(b.spare, t)
}
