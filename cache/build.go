package cache

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/liveiso/liveiso/rootfs"
)

// build encodes and compresses the chunks in todo on Workers goroutines and
// stores the members of those that are not racy. A chunk whose files were
// not what the scan saw is left without a member and its paths returned.
// It runs at most workers of them; progress, if not nil, is told the bytes
// done after each chunk.
func (p *Packer) build(ctx context.Context, tree *rootfs.Tree, todo []*chunk, workers int, progress func(done, total int64)) (stale []string, err error) {
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
	for range min(workers, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := p.tools.get(p.opts)
			defer p.tools.put(t, p.opts)
			c, s := t.c, t.s
			for ch := range next {
				m, reread, err := p.makeMember(ctx, c, s, tree, ch)
				saved := false
				if err == nil && !ch.racy && p.store != nil {
					if serr := p.store.Save(m.stored()); serr != nil {
						p.log.Warn("cache store not written", "err", serr)
					} else {
						saved = true
					}
				}
				var evicted []*member
				if saved {
					// Into the memory cache at once, not at the end of the
					// Pack: past MemoryLimitBytes it moves the least recently
					// used members to their store files, so a cold build of
					// a big tree does not hold every member in memory.
					evicted = p.memAdd(m)
				}
				mu.Lock()
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
				if progress != nil {
					progress(doneBytes, totalBytes)
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
