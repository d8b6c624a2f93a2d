package cache

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/liveiso/liveiso/rootfs"
)

// TestSpeculation edits a tree the ways a user does, one to four paths per
// Pack, and checks every Pack against a cold pack of the same tree: a guess
// that is wrong, or right for a chunk the plan does not have, must never
// reach the initrd. A lone content edit's chunk must come from the guess.
func TestSpeculation(t *testing.T) {
	root := t.TempDir() + "/rootfs"
	const n = 1000
	buildManyFiles(t, root, n)
	big := filepath.Join(root, "d03/big")
	writeFile(t, big, pseudoRandom(7, 200<<10), 0o644, time.Unix(1600000000, 0))
	opts := Options{Compression: Zstd, ChunkTargetBytes: 64 << 10}
	p := newPacker(t, Options{Compression: Zstd, ChunkTargetBytes: 64 << 10, CacheDir: t.TempDir()})
	pack(t, p, root, nil)
	file := func(i int) string { return fmt.Sprintf("d%02d/file%05d", i%50, i) }
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(what string, changed []string) {
		t.Helper()
		r := pack(t, p, root, changed)
		if !bytes.Equal(initrdBytes(t, r), initrdBytes(t, pack(t, newPacker(t, opts), root, nil))) {
			t.Fatalf("%s %q: the Pack differs from a cold pack of the same tree", what, changed)
		}
	}

	// A lone edit of a file's content, the same size or not, and of the
	// large file, a chunk of its own.
	for i, size := range []int{-1, 0, 100, -300} {
		rel := file(97 * (i + 1))
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case size < 0:
			data = data[:len(data)+size]
		case size == 0:
			data[0]++
		default:
			data = append(data, pseudoRandom(i, size)...)
		}
		before := p.guessed.Load()
		writeFile(t, filepath.Join(root, rel), data, 0o644, time.Now())
		check("content edit", []string{rel})
		if p.guessed.Load() == before {
			t.Errorf("edit of %s (%+d bytes): its chunk was not taken from the guess", rel, size)
		}
	}
	before := p.guessed.Load()
	writeFile(t, big, pseudoRandom(8, 210<<10), 0o644, time.Now())
	check("large file", []string{"d03/big"})
	if p.guessed.Load() == before {
		t.Error("edit of the large file: its chunk was not taken from the guess")
	}

	// Anything else, at random: writes, new files, removals, chmods and
	// writes through a hard link, one to four at a time.
	for round := range 25 {
		var changed []string
		for range 1 + rng.IntN(4) {
			i := rng.IntN(n)
			rel := file(i)
			path := filepath.Join(root, rel)
			switch rng.IntN(5) {
			case 0:
				writeFile(t, path, pseudoRandom(round, rng.IntN(9000)), 0o644, time.Now())
			case 1:
				rel += "new"
				writeFile(t, path+"new", pseudoRandom(round, rng.IntN(9000)), 0o644, time.Now())
			case 2:
				if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			case 3:
				os.Chmod(path, 0o600)
			case 4:
				rel = fmt.Sprintf("links/l%05d", i/(n/10)*(n/10))
				writeFile(t, filepath.Join(root, rel), pseudoRandom(round, 3000), 0o644, time.Now())
			}
			changed = append(changed, rel)
		}
		check(fmt.Sprintf("round %d", round), changed)
	}
	t.Logf("%d members taken from guesses", p.guessed.Load())
}

// TestSpeculationWrongGuess makes a guess that is built to the end and
// wrong: removing /init makes the plan put a synthetic /init where the file
// was, which the guess, made from the tree alone, lacks. The plan must build
// the chunk itself.
func TestSpeculationWrongGuess(t *testing.T) {
	root := t.TempDir() + "/rootfs"
	buildManyFiles(t, root, 300)
	// No other synthetic entries, whose chunks are never guessed.
	writeFile(t, root+"/dev/console", []byte("not a device"), 0o600, time.Unix(1600000000, 0))
	opts := Options{Compression: Zstd, ChunkTargetBytes: 16 << 10}
	p := newPacker(t, opts)
	pack(t, p, root, nil)
	if err := os.Remove(filepath.Join(root, "init")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	changed := []string{"init"}
	prev := p.last
	tree, err := rootfs.Rescan(ctx, prev.tree, changed, rootfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s := p.speculate(ctx, prev, tree, changed, racyAfter(start, p.racy))
	if s == nil {
		t.Fatal("no guess for the chunk that held /init")
	}
	<-s.done
	for _, g := range s.chunks {
		if g.m == nil {
			t.Fatalf("the guess at %s was not built", g.items[0].hdr.Name)
		}
	}
	built := map[memberKey]*member{}
	chunks, items, st, stale, err := p.packTree(ctx, prev, tree, start, built, s)
	if err != nil || len(stale) > 0 {
		t.Fatal(err, stale)
	}
	for _, ch := range chunks {
		for _, g := range s.chunks {
			if ch.key == g.key {
				t.Fatalf("the plan has the wrong guess's chunk at %s", g.items[0].hdr.Name)
			}
		}
	}
	r, _, err := p.finish(prev, tree, chunks, items, st)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(initrdBytes(t, r), initrdBytes(t, pack(t, newPacker(t, opts), root, nil))) {
		t.Fatal("the Pack differs from a cold pack of the same tree")
	}
	if n := p.guessed.Load(); n != 0 {
		t.Errorf("%d members taken from the wrong guess", n)
	}
}

// TestSpeculationDoneBeforePlan is TestSettleNeverStale's flake made
// certain: on a loaded machine the guess can be built, and its member stored
// in the caches, before the plan looks its chunk up. The plan must still
// take it as this Pack's build (counted rebuilt), not as a member some
// cache held before the edit.
func TestSpeculationDoneBeforePlan(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 300)
	opts := Options{ChunkTargetBytes: 16 << 10, CacheDir: t.TempDir()}
	p := newPacker(t, opts)
	pack(t, p, root, nil)
	const rel = "d03/file00003"
	fi, err := os.Stat(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	want := pseudoRandom(8, int(fi.Size()))
	writeFile(t, filepath.Join(root, rel), want, 0o644, fi.ModTime())
	ctx := context.Background()
	changed := []string{rel}
	prev := p.last
	tree, err := rootfs.Rescan(ctx, prev.tree, changed, rootfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s := p.speculate(ctx, prev, tree, changed, racyAfter(start, p.racy))
	if s == nil {
		t.Fatal("no guess for the rewritten file's chunk")
	}
	<-s.done // the plan is slower than the guess
	compressed := p.compressions.Load()
	chunks, items, st, stale, err := p.packTree(ctx, prev, tree, start, map[memberKey]*member{}, s)
	if err != nil || len(stale) > 0 {
		t.Fatal(err, stale)
	}
	if st.ChunksRebuilt != 1 || st.BytesCompressed == 0 {
		t.Errorf("the edit's Pack: %d chunks rebuilt, %d bytes compressed, want 1 chunk", st.ChunksRebuilt, st.BytesCompressed)
	}
	if n := p.compressions.Load() - compressed; n != 0 {
		t.Errorf("the plan compressed %d members again", n)
	}
	if n := p.guessed.Load(); n != 1 {
		t.Errorf("%d members taken from the guess, want 1", n)
	}
	r, _, err := p.finish(prev, tree, chunks, items, st)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	extract(t, initrdBytes(t, r), []string{"gzip", "-dc"}, out)
	if got, _ := os.ReadFile(filepath.Join(out, rel)); !bytes.Equal(got, want) {
		t.Errorf("%s in the initrd: not the bytes of the file now (stale)", rel)
	}
}
