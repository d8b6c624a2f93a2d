package store

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// must returns what a call returned, failing t on its error:
// must[DiskUsage](t)(Usage(dir)).
func must[V any](t *testing.T) func(V, error) V {
	return func(v V, err error) V {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func usage(t *testing.T, dir string) DiskUsage { return must[DiskUsage](t)(Usage(dir)) }

func trimTo(t *testing.T, dir string, limit int64) TrimResult {
	return must[TrimResult](t)(Trim(dir, limit))
}

// saveAll saves n members of size bytes each, keys (i, tag), and returns
// them.
func saveAll(t *testing.T, s *Store, n, size int, tag byte) []Member {
	t.Helper()
	var ms []Member
	for i := range n {
		m := Member{Key: testKey(byte(i), tag), Compression: codeGzip, RawBytes: 1, Data: testData(int(tag)<<8|i, size+i)}
		if err := s.Save(m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// Two stores on one cache directory stand for two processes: a trim to
// nothing removes what neither pins, never what the open one published,
// which stays readable; once it is closed it pins nothing, holds no fd and
// no lock.
func TestTrimSparesPinned(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pinned := saveAll(t, a, 5, 3000, 1)
	a.Publish(pinned, 0)
	b := openTest(t, dir, Options{})
	b.Publish(saveAll(t, b, 7, 3000, 2), 0)
	b.Close()

	before := usage(t, dir)
	if before.Processes != 1 || before.Members != 12 || before.PinnedMembers != 5 {
		t.Fatalf("before the trim: %+v, want 1 process pinning 5 of 12 members", before)
	}
	res := trimTo(t, dir, 0)
	if res.Removed != 7 || res.After.Members != 5 || res.After.PinnedMembers != 5 {
		t.Errorf("trim to 0 of %+v: %+v, want only the 5 pinned members left", before, res)
	}
	a.CloseFiles() // reads open their files by name again
	for _, m := range pinned {
		if got := readAll(t, a, m.Key, int64(len(m.Data))); !bytes.Equal(got, m.Data) {
			t.Errorf("pinned member %s reads otherwise after a trim", m.Key)
		}
	}

	a.Close()
	if u := usage(t, dir); u.Processes != 0 || u.PinnedMembers != 0 {
		t.Errorf("after Close: %+v, want no process and nothing pinned", u)
	}
	if n := fdsUnder(t, dir); n != 0 {
		t.Errorf("after Close: %d fds open on the cache directory", n)
	}
	for _, sub := range []string{pinRoot, procRoot} {
		if ents, _ := os.ReadDir(filepath.Join(dir, sub)); len(ents) != 0 {
			t.Errorf("%s/ after Close holds %d entries", sub, len(ents))
		}
	}
}

// A process that dies (its flock goes with it, its files stay) does not
// pin members for ever: the next trim removes its pins and its lock file.
func TestTrimReapsDeadProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Publish(saveAll(t, s, 4, 2000, 3), 0)
	s.lock.Close() // what SIGKILL does to the lock; the pins stay
	if u := usage(t, dir); u.Processes != 0 || u.PinnedMembers != 4 {
		t.Fatalf("dead process: %+v, want no live process, 4 members still pinned", u)
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
	s.files.close()
}

// A trim removes the least recently used members first, by mtime.
func TestTrimLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	var ms []Member
	for i := range 4 {
		m := Member{Key: testKey(byte(i + 1)), Compression: codeGzip, RawBytes: 100, Data: testData(i, 1000)}
		if err := s.Save(m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	s.Publish(nil, 0) // nothing pinned any more
	// Used in the order 2, 0, 3, 1: 2 is the least recent.
	for i, idx := range []int{2, 0, 3, 1} {
		mt := time.Unix(1700000000+int64(i)*60, 0)
		if err := os.Chtimes(s.Path(ms[idx].Key), mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	size := int64(headerSize + 1000)
	res := trimTo(t, dir, 2*size)
	if res.Removed != 2 {
		t.Fatalf("trim to 2 members: %+v", res)
	}
	for i, wantKept := range []bool{false, true, false, true} {
		_, err := os.Stat(s.Path(ms[i].Key))
		if kept := err == nil; kept != wantKept {
			t.Errorf("member %d kept %v, want %v", i, kept, wantKept)
		}
	}
	// A member trimmed away is a miss, not an error.
	if _, ok, err := s.Load(ms[2].Key, codeGzip); ok || err != nil {
		t.Errorf("load of a trimmed member: %v, %v", ok, err)
	}
}

// Reads of many stored members go through a bounded set of open files,
// concurrently, and return the members' bytes.
func TestOpenFilesBounded(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ms := saveAll(t, w, 20, 5000, 7)
	w.Close()

	s, err := Open(dir, Options{MaxOpenFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if _, ok, err := s.Load(m.Key, codeGzip); err != nil || !ok {
			t.Fatalf("load %s: %v, %v", m.Key, ok, err)
		}
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
				n, err := s.ReadAt(ms[j].Key, buf, off)
				if err != nil || n != len(buf) || !bytes.Equal(buf, ms[j].Data[off:off+1000]) {
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
	if n := fdsUnder(t, dir); n > 4 {
		t.Errorf("%d fds open on the cache directory, want at most 4", n)
	}
	s.Close()
	if n := fdsUnder(t, dir); n != 0 {
		t.Errorf("after close: %d fds open on the cache directory", n)
	}
	// Still readable after close, opening the file by its store name.
	if got := readAll(t, s, ms[5].Key, 100); !bytes.Equal(got, ms[5].Data[:100]) {
		t.Error("read after close: wrong bytes")
	}
}

// One store writes and reads members while another process's trims to
// nothing run in a loop: every member the writer holds stays readable
// with its bytes, through its pin, and a later load finds it whole.
func TestTrimDuringWrites(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, dir, Options{MaxOpenFiles: 2}) // reads reopen their files all the time
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
	var ms []Member
	for i := range 60 {
		m := Member{Key: testKey(byte(i), 9), Compression: codeGzip, RawBytes: 1, Data: testData(500+i, 3000+i*10)}
		if err := w.Save(m); err != nil {
			t.Fatal(err)
		}
		if !w.Spill(m.Key, m.Data) {
			t.Fatalf("member %d: not spilled to its pinned file", i)
		}
		ms = append(ms, m)
		if i%10 == 9 {
			w.Publish(ms[i-4:], 0) // the last 5 stay pinned; the rest may go
		}
		for j := max(0, i-4); j <= i; j++ {
			if got := readAll(t, w, ms[j].Key, int64(len(ms[j].Data))); !bytes.Equal(got, ms[j].Data) {
				t.Fatalf("member %d read while trims run: wrong bytes", j)
			}
		}
	}
	close(stop)
	if n := <-trimmed; n == 0 {
		t.Error("the trims removed nothing: the test raced with nobody")
	}
	for j := len(ms) - 5; j < len(ms); j++ {
		if _, ok, err := w.Load(ms[j].Key, codeGzip); err != nil || !ok {
			t.Fatalf("pinned member %d after the trims: %v, %v", j, ok, err)
		}
	}
}
