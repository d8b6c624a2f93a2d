package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/cache"
)

// liveiso cache shows what a cache directory holds and --trim empties
// what no live process uses.
func TestCacheCommand(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	for i := range 40 {
		name := filepath.Join(root, fmt.Sprintf("f%02d", i))
		if err := os.WriteFile(name, []byte(strings.Repeat(fmt.Sprint(i), 3000)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Files younger than the Packer's racy window are not stored: a
	// nanosecond's window takes the files just written.
	p, err := cache.NewPacker(cache.Options{CacheDir: dir, ChunkTargetBytes: 8 << 10, RacyWindow: time.Nanosecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Pack(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	chunks := len(r.Members())
	status, out, errOut := run(t, "cache", "--cache-dir", dir)
	if want := fmt.Sprintf("in %d chunks, by 1 live processes", chunks); status != exitOK || !strings.Contains(out, want) {
		t.Errorf("liveiso cache with a live Packer: status %d, stdout:\n%s\nstderr %q; want %q", status, out, errOut, want)
	}
	p.Close()
	status, out, errOut = run(t, "cache", "--cache-dir", dir, "--trim", "0")
	if want := fmt.Sprintf("removed:   %d chunks", chunks); status != exitOK || !strings.Contains(out, want) || !strings.Contains(out, "size:      0 bytes in 0 chunks") {
		t.Errorf("liveiso cache --trim 0: status %d, stdout:\n%s\nstderr %q; want %q and nothing left", status, out, errOut, want)
	}
	if status, _, errOut := run(t, "cache", "--cache-dir", dir, "--trim", "lots"); status != exitUsage || !strings.Contains(errOut, "--trim") {
		t.Errorf("liveiso cache --trim lots: status %d, stderr %q", status, errOut)
	}
}
