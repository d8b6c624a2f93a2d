package cache

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// buildManyFiles makes n files of a few KiB in 50 directories.
func buildManyFiles(t testing.TB, root string, n int) {
	t.Helper()
	old := time.Unix(1600000000, 0)
	for i := range n {
		writeFile(t, fmt.Sprintf("%s/d%02d/file%05d", root, i%50, i), pseudoRandom(i, 500+i*97%7000), 0o644, old)
	}
	writeFile(t, root+"/init", []byte("#!/bin/sh\n"), 0o755, old)
	// Hard links whose group spans chunks.
	for i := 0; i < n; i += n / 10 {
		p := fmt.Sprintf("%s/d%02d/file%05d", root, i%50, i)
		if err := os.Link(p, fmt.Sprintf("%s/links/l%05d", root, i)); err != nil {
			if err := os.MkdirAll(root+"/links", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(p, fmt.Sprintf("%s/links/l%05d", root, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// memberKeys lists the keys of an initrd's members, in order.
func memberKeys(r *Initrd) []memberKey {
	var ks []memberKey
	for _, m := range r.Members() {
		ks = append(ks, m.Data.(*member).key)
	}
	return ks
}

func TestIncremental(t *testing.T) {
	root := t.TempDir() + "/rootfs"
	buildManyFiles(t, root, 3000)
	p := newPacker(t, Options{ChunkTargetBytes: 64 << 10, CacheDir: t.TempDir()})
	r0 := pack(t, p, root, nil)
	st := r0.Stats()
	if st.ChunksTotal < 50 || st.ChunksRebuilt != st.ChunksTotal {
		t.Fatalf("cold pack: %+v", st)
	}
	t.Logf("cold: %d entries, %d chunks", st.Entries, st.ChunksTotal)

	// Nothing changed: nothing rebuilt, same bytes.
	r1 := pack(t, p, root, []string{})
	if r1.Stats().ChunksRebuilt != 0 || !bytes.Equal(initrdBytes(t, r0), initrdBytes(t, r1)) {
		t.Fatalf("unchanged repack: %+v", r1.Stats())
	}

	// Change one file's content (same size): exactly one chunk.
	edit := "d07/file01207"
	writeFile(t, filepath.Join(root, edit), pseudoRandom(-1, 500+1207*97%7000), 0o644, time.Unix(1700000000, 0))
	r2 := pack(t, p, root, []string{edit})
	if got := r2.Stats().ChunksRebuilt; got != 1 {
		t.Errorf("one file changed: %d chunks rebuilt, want 1", got)
	}
	checkChanged(t, "edit", memberKeys(r1), memberKeys(r2), 1)

	// Add a file: only the chunk it falls in (or that one split in two),
	// and the chunk holding its directory, whose mtime changed.
	add := "d07/file01207a"
	writeFile(t, filepath.Join(root, add), []byte("new file"), 0o644, time.Unix(1700000000, 0))
	r3 := pack(t, p, root, []string{add})
	checkChanged(t, "add", memberKeys(r2), memberKeys(r3), 3)

	// Delete a file: its chunk (merged with the one before if it was a
	// cut) and its directory's.
	if err := os.Remove(filepath.Join(root, "d30/file00030")); err != nil {
		t.Fatal(err)
	}
	r4 := pack(t, p, root, []string{"d30/file00030"})
	checkChanged(t, "delete", memberKeys(r3), memberKeys(r4), 3)

	// Link a file once more: a new hard-link group, in which the file's
	// entry stops carrying the data (the new link, last in the archive,
	// does).
	if err := os.Link(filepath.Join(root, "d10/file00010"), filepath.Join(root, "links/l99999")); err != nil {
		t.Fatal(err)
	}
	r5 := pack(t, p, root, []string{"d10/file00010", "links/l99999"})
	checkChanged(t, "link", memberKeys(r4), memberKeys(r5), 3)

	// The earlier initrds are still readable and unchanged.
	if !bytes.Equal(initrdBytes(t, r0), initrdBytes(t, r1)) {
		t.Error("an old initrd changed after later Packs")
	}
	// Keys carried over from the Pack before (sameItems) are what hashing
	// the items gives.
	for name, ch := range p.last.chunks {
		if k := chunkKey(&p.opts, ch.items); k != ch.key {
			t.Errorf("chunk at %s: key %s, hashing its items gives %s", name, ch.key, k)
		}
	}
	// Items copied from the Pack before (reusedItem) are what making them
	// again gives.
	want, _, _, err := newPacker(t, Options{ChunkTargetBytes: 64 << 10}).items(nil, p.last.tree)
	if err != nil {
		t.Fatal(err)
	}
	want, _ = chunkItems(want, p.opts.ChunkTargetBytes)
	if len(want) != len(p.last.items) {
		t.Fatalf("%d items kept from the last Pack, %d made again", len(p.last.items), len(want))
	}
	for i := range want {
		a, b := &p.last.items[i], &want[i]
		if !sameItems([]item{*a}, []item{*b}) || a.hash != b.hash {
			t.Errorf("item %d (%s): kept %+v, made again %+v", i, b.hdr.Name, a.hdr, b.hdr)
		}
	}
	// And the result equals a cold pack of the final tree.
	fresh := newPacker(t, Options{ChunkTargetBytes: 64 << 10})
	if !bytes.Equal(initrdBytes(t, r5), initrdBytes(t, pack(t, fresh, root, nil))) {
		t.Error("incremental result differs from a cold pack of the same tree")
	}
}

// checkChanged asserts that at most max members of before are not in
// after, at least one is, and at most max+1 of after are new.
func checkChanged(t *testing.T, what string, before, after []memberKey, max int) {
	t.Helper()
	diff := func(a, b []memberKey) int {
		n := 0
		for _, k := range a {
			if !slices.Contains(b, k) {
				n++
			}
		}
		return n
	}
	if gone := diff(before, after); gone < 1 || gone > max {
		t.Errorf("%s: %d members of %d gone, want 1..%d", what, gone, len(before), max)
	}
	if added := diff(after, before); added > max+1 {
		t.Errorf("%s: %d new members", what, added)
	}
}

func TestDeterminism(t *testing.T) {
	needRoot(t)
	root := t.TempDir() + "/rootfs"
	buildFullTree(t, root)
	for _, comp := range []Compression{Gzip, Zstd, None} {
		a := pack(t, newPacker(t, Options{Compression: comp, ChunkTargetBytes: 8192, CacheDir: t.TempDir(), Workers: 1}), root, nil)
		b := pack(t, newPacker(t, Options{Compression: comp, ChunkTargetBytes: 8192, CacheDir: t.TempDir(), Workers: 4}), root, nil)
		if !bytes.Equal(initrdBytes(t, a), initrdBytes(t, b)) {
			t.Errorf("%s: two Packers gave different initrds", comp)
		}
	}
}

func TestDiskCache(t *testing.T) {
	root := t.TempDir() + "/rootfs"
	buildManyFiles(t, root, 500)
	dir := t.TempDir()
	opts := Options{ChunkTargetBytes: 32 << 10, CacheDir: dir}
	want := initrdBytes(t, pack(t, newPacker(t, opts), root, nil))

	// A new Packer on the same store rebuilds nothing.
	r := pack(t, newPacker(t, opts), root, nil)
	if st := r.Stats(); st.ChunksRebuilt != 0 {
		t.Errorf("restart: %d chunks rebuilt", st.ChunksRebuilt)
	}
	if !bytes.Equal(initrdBytes(t, r), want) {
		t.Error("restart: initrd differs")
	}

	// Corrupt one store file (a flipped byte) and truncate another: both
	// are rebuilt, never served.
	var files []string
	filepath.WalkDir(filepath.Join(dir, "members"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	slices.Sort(files)
	if len(files) < 3 {
		t.Fatalf("%d store files", len(files))
	}
	b, _ := os.ReadFile(files[0])
	b[len(b)-3] ^= 0x55
	os.WriteFile(files[0], b, 0o600)
	b, _ = os.ReadFile(files[1])
	os.WriteFile(files[1], b[:len(b)/2], 0o600)
	r = pack(t, newPacker(t, opts), root, nil)
	if st := r.Stats(); st.ChunksRebuilt != 2 {
		t.Errorf("after corrupting 2 store files: %d chunks rebuilt, want 2", st.ChunksRebuilt)
	}
	if !bytes.Equal(initrdBytes(t, r), want) {
		t.Error("after corruption: initrd differs")
	}

	// A tiny memory limit: members are read from their store files, and
	// initrds stay readable.
	opts.MemoryLimitBytes = 1
	p := newPacker(t, opts)
	r = pack(t, p, root, nil)
	if !bytes.Equal(initrdBytes(t, r), want) {
		t.Error("served from store files: initrd differs")
	}
	onDisk := 0
	for _, m := range r.Members() {
		if m.Data.(*member).inMemory() == nil {
			onDisk++
		}
	}
	if onDisk == 0 {
		t.Error("memory limit 1: no member read from the store")
	}
}

// A write through one name of a hard-linked file is reported for that name
// only; the initrd must still carry the new content for every name (the
// name that carries the group's data may be the unreported one).
func TestHardLinkWriteThroughOtherName(t *testing.T) {
	root := t.TempDir()
	// b, which carries the data, is large enough to be a chunk of its own.
	writeFile(t, root+"/a", pseudoRandom(1, 8000), 0o644, time.Unix(1700000000, 0))
	if err := os.Link(root+"/a", root+"/b"); err != nil {
		t.Fatal(err)
	}
	p := newPacker(t, Options{ChunkTargetBytes: 4096})
	pack(t, p, root, nil)
	want := string(pseudoRandom(2, 9000))
	writeFile(t, root+"/a", []byte(want), 0o644, time.Unix(1700000100, 0))
	r := pack(t, p, root, []string{"a"})
	dir := t.TempDir()
	extract(t, initrdBytes(t, r), []string{"gzip", "-dc"}, dir)
	for _, name := range []string{"a", "b"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s after a write through a: %d bytes, not the %d written", name, len(got), len(want))
		}
	}
	e := readArchive(t, initrdBytes(t, r), []string{"gzip", "-dc"})
	if e["a"].Ino != e["b"].Ino || e["a"].Links != 2 || e["b"].Links != 2 {
		t.Errorf("a and b not linked: %+v %+v", e["a"], e["b"])
	}
}
