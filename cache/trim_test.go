package cache

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/procfs"
)

// storeFds counts this process's open fds on files under dir.
func storeFds(t *testing.T, dir string) int {
	t.Helper()
	n, err := procfs.OpenFDsUnder(dir)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func usage(t *testing.T, dir string) DiskUsage {
	t.Helper()
	u, err := Usage(dir)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func trimTo(t *testing.T, dir string, limit int64) TrimResult {
	t.Helper()
	res, err := Trim(dir, limit)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Two Packers on one cache directory stand for two processes: a trim to
// nothing removes what neither pins, never the latest initrd's members of
// the one still open, which stays readable from its files; once it is
// closed it pins nothing, holds no fd and no lock.
func TestTrimSparesPinned(t *testing.T) {
	dir := t.TempDir()
	rootA, rootB := t.TempDir(), t.TempDir()
	buildManyFiles(t, rootA, 200)
	buildManyFiles(t, rootB, 300)
	opts := Options{ChunkTargetBytes: 16 << 10, CacheDir: dir, MemoryLimitBytes: 1}
	pa := newPacker(t, opts)
	ra := pack(t, pa, rootA, nil)
	want := initrdBytes(t, ra)
	pb := newPacker(t, opts)
	pack(t, pb, rootB, nil)
	pb.Close()

	before := usage(t, dir)
	if before.Processes != 1 || before.PinnedMembers != len(ra.stored) {
		t.Fatalf("before the trim: %+v, want 1 process pinning %d members", before, len(ra.stored))
	}
	res := trimTo(t, dir, 0)
	if res.Removed != before.Members-before.PinnedMembers || res.After.Members != len(ra.stored) || res.After.PinnedMembers != len(ra.stored) {
		t.Errorf("trim to 0 of %+v: %+v, want only the %d pinned members left", before, res, len(ra.stored))
	}
	if !bytes.Equal(initrdBytes(t, ra), want) {
		t.Error("the open Packer's initrd changed after a trim")
	}
	// The next Pack finds everything it needs in the store still.
	if st := pack(t, pa, rootA, nil).Stats(); st.ChunksRebuilt != 0 {
		t.Errorf("after the trim: %d chunks rebuilt, want 0", st.ChunksRebuilt)
	}

	pa.Close()
	u := usage(t, dir)
	if u.Processes != 0 || u.PinnedMembers != 0 {
		t.Errorf("after Close: %+v, want no process and nothing pinned", u)
	}
	if n := storeFds(t, dir); n != 0 {
		t.Errorf("after Close: %d fds open on the cache directory", n)
	}
	if n := trimTo(t, dir, 0).After.Members; n != 0 {
		t.Errorf("after Close, trim to 0 leaves %d members", n)
	}
}

// A Pin keeps an older initrd's members through trims after its Packer
// has moved on; closed, it lets them go.
func TestRetainKeepsOldInitrd(t *testing.T) {
	dir := t.TempDir()
	root := t.TempDir()
	buildManyFiles(t, root, 200)
	p := newPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: dir, MemoryLimitBytes: 1})
	r1 := pack(t, p, root, nil)
	want := initrdBytes(t, r1)
	pin := r1.Retain()
	rel := "d01/file00001"
	writeFile(t, root+"/"+rel, pseudoRandom(7, 3000), 0o644, time.Unix(1700000100, 0))
	r2 := pack(t, p, root, []string{rel})
	if res := trimTo(t, dir, 0); res.Removed != 0 {
		t.Errorf("trim with r1 pinned removed %d members", res.Removed)
	}
	p.store.CloseFiles() // every read opens its file again
	if !bytes.Equal(initrdBytes(t, r1), want) {
		t.Error("a retained initrd changed after a trim")
	}
	pin.Close()
	pin.Close()
	res := trimTo(t, dir, 0)
	if res.Removed == 0 || res.After.Members != len(r2.stored) {
		t.Errorf("trim after the Pin's Close: %+v, want only r2's %d members left", res, len(r2.stored))
	}
}

// A Packer bounded by CacheSizeBytes keeps its store within the bound
// through edits that each add members, and every initrd is whole.
func TestCacheSizeBound(t *testing.T) {
	dir := t.TempDir()
	root := t.TempDir()
	buildManyFiles(t, root, 200)
	opts := Options{ChunkTargetBytes: 16 << 10, CacheDir: dir}
	first := pack(t, newPacker(t, Options{ChunkTargetBytes: 16 << 10}), root, nil)
	opts.CacheSizeBytes = 2 * first.Size()
	p := newPacker(t, opts)
	for i := range 12 {
		var changed []string
		for j := range 4 {
			rel := fmt.Sprintf("d%02d/file%05d", (j*13+1)%50, j*13+1)
			writeFile(t, filepath.Join(root, rel), pseudoRandom(1000*i+j, 4000), 0o644, time.Unix(1700000000+int64(i), 0))
			changed = append(changed, rel)
		}
		r := pack(t, p, root, changed)
		p.store.WaitTrims()
		fresh := pack(t, newPacker(t, Options{ChunkTargetBytes: 16 << 10}), root, nil)
		if !bytes.Equal(initrdBytes(t, r), initrdBytes(t, fresh)) {
			t.Fatalf("edit %d: initrd differs from a fresh pack", i)
		}
		if u := usage(t, dir); u.SizeBytes > opts.CacheSizeBytes {
			t.Errorf("edit %d: store holds %d bytes, bound %d", i, u.SizeBytes, opts.CacheSizeBytes)
		}
	}
	p.Close()
	if u := usage(t, dir); u.SizeBytes > opts.CacheSizeBytes || u.Members == 0 {
		t.Errorf("after Close: %+v, bound %d", u, opts.CacheSizeBytes)
	}
}
