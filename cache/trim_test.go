package cache

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// storeFds counts this process's open fds on files under dir.
func storeFds(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
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

// A process that dies (its flock goes with it, its files stay) does not
// pin members for ever: the next trim removes its pins and its lock file.
func TestTrimReapsDeadProcess(t *testing.T) {
	dir := t.TempDir()
	root := t.TempDir()
	buildManyFiles(t, root, 100)
	p := newPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: dir})
	pack(t, p, root, nil)
	p.store.lock.Close() // what SIGKILL does to the lock; the pins stay
	if u := usage(t, dir); u.Processes != 0 || u.PinnedMembers == 0 {
		t.Fatalf("dead process: %+v, want no live process, members still pinned", u)
	}
	res := trimTo(t, dir, 0)
	if res.Reaped != 1 || res.After.Members != 0 {
		t.Errorf("trim after a death: %+v, want 1 reaped, no member left", res)
	}
	for _, sub := range []string{pinRoot, procRoot} {
		if ents, _ := os.ReadDir(filepath.Join(dir, sub)); len(ents) != 0 {
			t.Errorf("%s/ after the reap holds %d entries", sub, len(ents))
		}
	}
}

// A trim removes the least recently used members first, by mtime.
func TestTrimLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	s, err := openStore(dir, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var ms []*member
	for i := range 4 {
		var k memberKey
		k[0] = byte(i + 1)
		m := newMemoryMember(k, Gzip, 100, pseudoRandom(i, 1000))
		if err := s.save(m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	s.publish(nil, 0) // nothing pinned any more
	// Used in the order 2, 0, 3, 1: 2 is the least recent.
	for i, idx := range []int{2, 0, 3, 1} {
		mt := time.Unix(1700000000+int64(i)*60, 0)
		if err := os.Chtimes(s.path(ms[idx].key), mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	size := int64(storeHeaderSize + 1000)
	res := trimTo(t, dir, 2*size)
	if res.Removed != 2 {
		t.Fatalf("trim to 2 members: %+v", res)
	}
	for i, wantKept := range []bool{false, true, false, true} {
		_, err := os.Stat(s.path(ms[i].key))
		if kept := err == nil; kept != wantKept {
			t.Errorf("member %d kept %v, want %v", i, kept, wantKept)
		}
	}
	// A member trimmed away is a miss, not an error.
	if m, err := s.load(ms[2].key, Gzip); m != nil || err != nil {
		t.Errorf("load of a trimmed member: %v, %v", m, err)
	}
}

// Reads of many file-backed members go through a bounded set of open
// files, concurrently, and return the members' bytes.
func TestOpenFilesBounded(t *testing.T) {
	dir := t.TempDir()
	w, err := openStore(dir, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var keys []memberKey
	var datas [][]byte
	for i := range 20 {
		var k memberKey
		k[0], k[1] = byte(i), 7
		d := pseudoRandom(100+i, 5000+i)
		if err := w.save(newMemoryMember(k, Zstd, 1, d)); err != nil {
			t.Fatal(err)
		}
		keys, datas = append(keys, k), append(datas, d)
	}
	w.close()

	s, err := openStore(dir, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s.files = newOpenFiles(3)
	var ms []*member
	for _, k := range keys {
		m, err := s.load(k, Zstd)
		if err != nil || m == nil {
			t.Fatalf("load %s: %v, %v", k, m, err)
		}
		ms = append(ms, m)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1000)
			for i := range 200 {
				j := (i*7 + g) % len(ms)
				off := int64(i % 4000)
				n, err := ms[j].ReadAt(buf, off)
				if err != nil || n != len(buf) || !bytes.Equal(buf, datas[j][off:off+1000]) {
					t.Errorf("member %d at %d: %d bytes, %v, or wrong bytes", j, off, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := s.files.len(); n > 3 {
		t.Errorf("%d files cached, limit 3", n)
	}
	// One per cached file, plus the lock.
	if n := storeFds(t, dir); n > 4 {
		t.Errorf("%d fds open on the cache directory, want at most 4", n)
	}
	s.close()
	if n := storeFds(t, dir); n != 0 {
		t.Errorf("after close: %d fds open on the cache directory", n)
	}
	// Still readable after close, opening the file by its store name.
	got := make([]byte, 100)
	if _, err := ms[5].ReadAt(got, 0); err != nil || !bytes.Equal(got, datas[5][:100]) {
		t.Errorf("read after close: %v", err)
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
	p.store.files.close() // every read opens its file again
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
		p.store.trims.Wait()
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

// One store writes and reads members while another process's trims to
// nothing run in a loop: every member the writer holds stays readable
// with its bytes, through its pin, and a later load finds it whole.
func TestTrimDuringWrites(t *testing.T) {
	dir := t.TempDir()
	w, err := openStore(dir, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	w.files = newOpenFiles(2) // reads reopen their files all the time
	stop := make(chan struct{})
	trimmed := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				trimmed <- n
				return
			default:
			}
			res, err := Trim(dir, 0)
			if err != nil {
				t.Error(err)
			}
			n += res.Removed
		}
	}()
	var ms []*member
	var datas [][]byte
	for i := range 60 {
		var k memberKey
		k[0], k[1] = byte(i), 9
		d := pseudoRandom(500+i, 3000+i*10)
		m := newMemoryMember(k, Gzip, 1, d)
		if err := w.save(m); err != nil {
			t.Fatal(err)
		}
		if !w.spill(m) {
			t.Fatalf("member %d: not spilled to its pinned file", i)
		}
		ms, datas = append(ms, m), append(datas, d)
		if i%10 == 9 {
			w.publish(ms[i-4:], 0) // the last 5 stay pinned; the rest may go
		}
		for j := max(0, i-4); j <= i; j++ {
			got := make([]byte, len(datas[j]))
			if n, err := ms[j].ReadAt(got, 0); n != len(got) || err != nil || !bytes.Equal(got, datas[j]) {
				t.Fatalf("member %d read while trims run: %d bytes, %v, or wrong bytes", j, n, err)
			}
		}
	}
	close(stop)
	if n := <-trimmed; n == 0 {
		t.Error("the trims removed nothing: the test raced with nobody")
	}
	for j := len(ms) - 5; j < len(ms); j++ {
		m, err := w.load(ms[j].key, Gzip)
		if err != nil || m == nil {
			t.Fatalf("pinned member %d after the trims: %v, %v", j, m, err)
		}
	}
}
