package cache

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// freshPacker is a Packer for a tree just made: with a racy window of an
// hour every chunk is racy, however slowly the test runs, until the test
// ends the window (p.racy = 0).
func freshPacker(t *testing.T, opts Options) *Packer {
	t.Helper()
	p := newPacker(t, opts)
	p.racy = time.Hour
	return p
}

func storeFiles(t *testing.T, cacheDir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(cacheDir, "members"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

func settle(t *testing.T, p *Packer) Settled {
	t.Helper()
	s, err := p.Settle(context.Background())
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	return s
}

// A fresh tree's members are racy; Settle admits them all to both caches
// once the window has passed, compressing nothing, so the first edit
// rebuilds one chunk and a restart none.
func TestSettle(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 600)
	dir := t.TempDir()
	opts := Options{ChunkTargetBytes: 16 << 10, CacheDir: dir}
	p := freshPacker(t, opts)
	r := pack(t, p, root, nil)
	st := r.Stats()
	if st.ChunksRacy != st.ChunksTotal || st.ChunksTotal < 10 {
		t.Fatalf("fresh tree: %d of %d chunks racy, want all", st.ChunksRacy, st.ChunksTotal)
	}
	if n := storeFiles(t, dir); n != 0 {
		t.Fatalf("racy members in the store: %d files", n)
	}
	if time.Until(st.SettleAt) < 59*time.Minute {
		t.Errorf("SettleAt %v is not a window from the files' ctimes", st.SettleAt)
	}
	compressed := p.compressions.Load()
	p.racy = 0
	s := settle(t, p)
	if s.Chunks != st.ChunksTotal || s.Racy != 0 {
		t.Errorf("Settle: %+v, want %d chunks and none racy", s, st.ChunksTotal)
	}
	if n := p.compressions.Load() - compressed; n != 0 {
		t.Errorf("Settle compressed %d members", n)
	}
	if n := storeFiles(t, dir); n != st.ChunksTotal {
		t.Errorf("%d store files after Settle, want %d", n, st.ChunksTotal)
	}
	if s := settle(t, p); s != (Settled{}) {
		t.Errorf("a second Settle: %+v, want nothing", s)
	}

	// The same size: a chunk cut at maxChunkBytes is not moved by it.
	edit := "d07/file00307"
	writeFile(t, filepath.Join(root, edit), bytes.Repeat([]byte("e"), 500+307*97%7000), 0o644, time.Time{})
	if st := pack(t, p, root, []string{edit}).Stats(); st.ChunksRebuilt != 1 || st.ChunksReread != 0 {
		t.Errorf("first edit after Settle: %d rebuilt, %d re-read, want 1 and 0", st.ChunksRebuilt, st.ChunksReread)
	}
	q := newPacker(t, opts)
	rq := pack(t, q, root, nil)
	if st := rq.Stats(); st.ChunksRebuilt != 0 {
		t.Errorf("restart: %d chunks rebuilt, want 0", st.ChunksRebuilt)
	}
	if want := pack(t, newPacker(t, Options{ChunkTargetBytes: 16 << 10}), root, nil); !bytes.Equal(initrdBytes(t, rq), initrdBytes(t, want)) {
		t.Error("restart on settled members: initrd differs from a cold pack")
	}
}

// Settle waits until the newest racy file is past the window, and no
// longer.
func TestSettleWaitsOutTheWindow(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 50)
	p := newPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: t.TempDir()})
	p.racy = 0
	pack(t, p, root, nil)
	p.racy = DefaultRacyWindow
	var st Stats
	// The write and the Pack are a moment apart; a machine that stalls for
	// the whole window between them gets another try.
	for i := 0; st.ChunksRacy == 0; i++ {
		if i == 5 {
			t.Fatal("no Pack within the racy window of a write, 5 times")
		}
		writeFile(t, root+"/d01/file00001", pseudoRandom(i, 100), 0o644, time.Time{})
		st = pack(t, p, root, []string{"d01/file00001"}).Stats()
	}
	start := time.Now()
	s := settle(t, p)
	if time.Now().Before(st.SettleAt) {
		t.Errorf("Settle returned at %v, before SettleAt %v", time.Now(), st.SettleAt)
	}
	if took := time.Since(start); took > 2*DefaultRacyWindow+5*time.Second {
		t.Errorf("Settle took %v, more than the window", took)
	}
	if s.Chunks != st.ChunksRacy || s.Racy != 0 {
		t.Errorf("Settle: %+v, want %d admitted", s, st.ChunksRacy)
	}
}

// A Pack within the window re-reads the last Pack's racy chunks instead of
// compressing them again, and caches them once the window is over.
func TestPackRereadsRacyChunks(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 300)
	dir := t.TempDir()
	p := freshPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: dir})
	r0 := pack(t, p, root, nil)
	total := r0.Stats().ChunksTotal
	compressed := p.compressions.Load()
	r1 := pack(t, p, root, []string{})
	if st := r1.Stats(); st.ChunksRebuilt != 0 || st.ChunksReread != total || st.ChunksRacy != total {
		t.Errorf("second Pack within the window: %+v, want %d re-read and racy, none rebuilt", st, total)
	}
	if n := p.compressions.Load() - compressed; n != 0 {
		t.Errorf("%d members compressed again", n)
	}
	if !bytes.Equal(initrdBytes(t, r0), initrdBytes(t, r1)) {
		t.Error("re-read members give other bytes")
	}
	p.racy = 0 // the window is over
	if st := pack(t, p, root, []string{}).Stats(); st.ChunksRebuilt != 0 || st.ChunksReread != total || st.ChunksRacy != 0 {
		t.Errorf("Pack after the window: %+v, want %d re-read, none racy", st, total)
	}
	if n := storeFiles(t, dir); n != total {
		t.Errorf("%d store files, want %d", n, total)
	}
}

// The stale cases: a settled member must hold what the files hold when it
// is used. The file's stat as the cpio header shows it (size, mtime in
// seconds) stays the same through every write here; only its bytes and its
// ctime change.
func TestSettleNeverStale(t *testing.T) {
	const rel = "d03/file00003"
	mtime := time.Unix(1600000000, 0)
	setup := func(t *testing.T) (p *Packer, root, dir string, size int) {
		root = t.TempDir()
		buildManyFiles(t, root, 300)
		dir = t.TempDir()
		p = freshPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: dir})
		pack(t, p, root, nil)
		p.racy = 0 // what follows happens after the window
		fi, err := os.Stat(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return p, root, dir, int(fi.Size())
	}
	// rewrite writes other bytes of the same size, with the same mtime.
	rewrite := func(t *testing.T, root string, size int, seed int) []byte {
		b := pseudoRandom(seed, size)
		writeFile(t, filepath.Join(root, rel), b, 0o644, mtime)
		return b
	}
	// served checks that a Pack told of the write holds the file's bytes,
	// compressed afresh.
	served := func(t *testing.T, p *Packer, root string, want []byte) {
		t.Helper()
		r := pack(t, p, root, []string{rel})
		if st := r.Stats(); st.ChunksRebuilt != 1 {
			t.Errorf("Pack after the write: %d chunks rebuilt, want 1", st.ChunksRebuilt)
		}
		out := t.TempDir()
		extract(t, initrdBytes(t, r), []string{"gzip", "-dc"}, out)
		if got, _ := os.ReadFile(filepath.Join(out, rel)); !bytes.Equal(got, want) {
			t.Errorf("%s in the initrd: %d bytes, not the %d bytes of the file now (stale)", rel, len(got), len(want))
		}
	}
	holds := func(p *Packer) *chunk {
		for _, ch := range p.last.chunks {
			for i := range ch.items {
				if ch.items[i].hdr.Name == rel {
					return ch
				}
			}
		}
		return nil
	}

	t.Run("written in the window, after the Pack read it", func(t *testing.T) {
		p, root, _, size := setup(t)
		want := rewrite(t, root, size, 7)
		s := settle(t, p)
		if s.Racy != 1 {
			t.Errorf("Settle: %+v, want the rewritten file's chunk refused (1 racy)", s)
		}
		if _, ok := p.last.racy[holds(p).key]; !ok {
			t.Error("the rewritten file's chunk was admitted")
		}
		served(t, p, root, want)
	})
	t.Run("written just after the settle pass re-read it", func(t *testing.T) {
		p, root, _, size := setup(t)
		var want []byte
		target := holds(p)
		p.afterReread = func(ch *chunk) {
			if ch == target {
				want = rewrite(t, root, size, 8)
			}
		}
		settle(t, p)
		if want == nil {
			t.Fatal("the settle pass never re-read the file's chunk")
		}
		served(t, p, root, want)
	})
	t.Run("bytes that hash otherwise", func(t *testing.T) {
		p, _, _, _ := setup(t)
		ch := holds(p)
		bad := *ch.m.rawSum
		bad[0] ^= 1
		ch.m.rawSum = &bad
		s := settle(t, p)
		if s.Racy != 1 {
			t.Errorf("Settle: %+v, want the chunk whose bytes hash otherwise refused", s)
		}
		if _, err := os.Stat(p.store.Path(ch.key)); err == nil {
			t.Error("a refused member is in the store")
		}
	})
}

// A newer edit cancels Settle: what it admitted stays, the rest stays racy,
// and the next Pack re-reads instead of compressing.
func TestSettleCancelled(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 300)
	p := freshPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: t.TempDir()})
	total := pack(t, p, root, nil).Stats().ChunksTotal
	p.racy = 0
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	p.afterReread = func(*chunk) {
		if n++; n == 3 {
			cancel()
		}
	}
	s, err := p.Settle(ctx)
	if err == nil {
		t.Fatal("a cancelled Settle returned no error")
	}
	if s.Chunks != 3 || s.Racy != total-3 {
		t.Errorf("cancelled Settle: %+v, want 3 admitted and %d racy", s, total-3)
	}
	compressed := p.compressions.Load()
	if st := pack(t, p, root, []string{}).Stats(); st.ChunksRebuilt != 0 || st.ChunksReread != total-3 || st.ChunksRacy != 0 {
		t.Errorf("Pack after a cancelled Settle: %+v, want %d re-read", st, total-3)
	}
	if d := p.compressions.Load() - compressed; d != 0 {
		t.Errorf("%d members compressed", d)
	}
}
