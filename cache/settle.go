package cache

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/liveiso/liveiso/rootfs"
)

// Settling racy chunks.
//
// A racy chunk (see DefaultRacyWindow) is used but cached nowhere, so a
// tree made just before a Pack (cp -a, rsync, debootstrap) would have
// nothing cached and its first edit would compress everything again. So a
// racy member keeps a digest of the newc bytes it was made from (two
// maphash sums, 128 bits: rawsum.go). Once its files are past the racy
// window, re-reading them, with their stat checked against the
// scan before and after each read as when they were packed, and finding the
// same hash proves that the member holds what the files hold now; and every
// later write changes a ctime, since the files are old enough. Then the
// member is admitted to the caches as it is: nothing is compressed again.
// Settle does this in the background; a Pack does it for a chunk that the
// last Pack left racy and that is still not cached (and, while the chunk is
// still racy, uses the member without caching it, which is what compressing
// the same bytes again would give).

// Settled is what a Settle did.
type Settled struct {
	Chunks int // racy members admitted to the caches
	Racy   int // racy chunks of the last Pack still in no cache
}

// Settle admits the racy members of the last Pack to the memory and disk
// caches once their files are past the racy window, without compressing
// anything: it waits until then (at most the window), re-reads each racy
// chunk's files and admits its member when they give the bytes it was made
// from. A chunk whose files changed or read otherwise stays racy, for the
// next Pack to build. Nothing in the last Initrd changes.
//
// Settle reads on the calling goroutine, one chunk at a time, so the caller
// sets its priority. It is serialised with Pack as Pack calls are. When ctx
// ends it keeps what it admitted so far and returns ctx's error.
func (p *Packer) Settle(ctx context.Context) (Settled, error) {
	prev := p.last
	if prev == nil || len(prev.racy) == 0 {
		return Settled{}, nil
	}
	start := time.Now()
	var at int64
	for _, ch := range prev.racy {
		at = max(at, ch.newestCtimeNs)
	}
	// The window must be over for the newest file: its ctime plus the window
	// is the last nanosecond it is racy in.
	wait := min(time.Until(time.Unix(0, at).Add(p.racy+time.Millisecond)), p.racy)
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Settled{Racy: len(prev.racy)}, ctx.Err()
		case <-t.C:
		}
	}

	// The reads below start after this instant: a file older than the
	// window by then cannot be written again without its ctime changing.
	racyAfter := time.Now().Add(-p.racy).UnixNano()
	keys := slices.SortedFunc(maps.Keys(prev.racy), func(a, b memberKey) int {
		return rootfs.ComparePaths(prev.racy[a].items[0].hdr.Name, prev.racy[b].items[0].hdr.Name)
	})
	s := newScratch()
	var admitted []*chunk
	var err error
	for _, k := range keys {
		ch := prev.racy[k]
		if ch.newestCtimeNs >= racyAfter || ch.m.rawSum == nil {
			continue
		}
		var sum rawDigest
		if sum, err = rawSum(ctx, s, prev.tree, ch.items); err != nil {
			if ctx.Err() != nil {
				break
			}
			var ce *errChanged
			if !errors.As(err, &ce) {
				p.log.Warn("settle: re-reading a racy chunk", "err", err)
			}
			err = nil
			continue // changed since the Pack: the next Pack builds it
		}
		if p.afterReread != nil {
			p.afterReread(ch)
		}
		if sum != *ch.m.rawSum {
			p.log.Debug("settle: racy chunk reads otherwise than when packed", "path", ch.items[0].hdr.Name)
			continue
		}
		p.admit(ch.m)
		admitted = append(admitted, ch)
	}
	if len(admitted) > 0 {
		next := *prev
		next.members, next.racy = maps.Clone(prev.members), maps.Clone(prev.racy)
		for _, ch := range admitted {
			next.members[ch.key] = ch.m
			delete(next.racy, ch.key)
		}
		p.last = &next
	}
	st := Settled{Chunks: len(admitted), Racy: len(p.last.racy)}
	p.log.Info("settled racy chunks", "chunks_settled", st.Chunks, "chunks_racy", st.Racy,
		"ms", time.Since(start).Milliseconds())
	return st, err
}

// admit puts a member, held in memory, into the disk store and the memory
// cache.
func (p *Packer) admit(m *member) {
	if p.store != nil {
		if err := p.store.Save(m.stored()); err != nil {
			p.log.Warn("cache store not written", "err", err)
		}
	}
	p.spill(p.memAdd(m))
}

// rawSum re-reads items as encodeChunk encodes them (each file's stat
// checked against the scan) and returns the digest of the bytes.
func rawSum(ctx context.Context, s *scratch, tree *rootfs.Tree, items []item) (rawDigest, error) {
	h := newRawHasher()
	if err := encodeChunk(ctx, h, tree, items, s); err != nil {
		return rawDigest{}, err
	}
	return h.digest(), nil
}
