package cache

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
	"time"
)

// Readers of an Initrd race with later Packs that evict its members from
// memory to their store files: every read returns the same bytes.
func TestConcurrentReads(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 400)
	p := newPacker(t, Options{ChunkTargetBytes: 16 << 10, CacheDir: t.TempDir(), MemoryLimitBytes: 64 << 10})
	r := pack(t, p, root, nil)
	want := initrdBytes(t, r)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 7919)
			for i := range 300 {
				off := int64((i*104729 + g*7) % len(want))
				n, err := r.ReadAt(buf, off)
				if n == 0 || (err != nil && off+int64(n) != r.Size()) || !bytes.Equal(buf[:n], want[off:off+int64(n)]) {
					t.Errorf("ReadAt(%d): %d, %v, or wrong bytes", off, n, err)
					return
				}
			}
		}()
	}
	for i := range 5 {
		rel := "d01/file00001"
		writeFile(t, root+"/"+rel, pseudoRandom(1000+i, 3000), 0o644, time.Unix(1700000000+int64(i), 0))
		pack(t, p, root, []string{rel})
	}
	wg.Wait()
}

// A Pack that fails leaves the Packer as the last good Pack left it: the
// caller (live) passes the failed Pack's paths again, and the next Pack
// gives the edit. One layer owns retries, so the Packer keeps no paths of
// its own: a Pack given none after a failure sees no edit.
func TestFailedPackKeepsLastGood(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 100)
	p := newPacker(t, Options{ChunkTargetBytes: 16 << 10})
	r0 := pack(t, p, root, nil)
	rel := "d02/file00002"
	writeFile(t, root+"/"+rel, []byte("edited"), 0o644, time.Unix(1700000000, 0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Pack(ctx, root, []string{rel}); err == nil {
		t.Fatal("cancelled Pack succeeded")
	}
	if r := pack(t, p, root, []string{}); !bytes.Equal(initrdBytes(t, r), initrdBytes(t, r0)) {
		t.Error("a Pack given no paths after a failed one is not the last good initrd")
	}
	r := pack(t, p, root, []string{rel})
	if e := readArchive(t, initrdBytes(t, r), []string{"gzip", "-dc"})[rel]; e.Size != int64(len("edited")) {
		t.Errorf("edit lost after a failed Pack: size %d", e.Size)
	}
	os.Remove(root + "/" + rel)
}
