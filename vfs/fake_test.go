package vfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveiso/liveiso/live"
)

// Test images are made of 8-byte little-endian words that name their
// generation and their position: word k of generation g is g<<48 | k (the
// initrd uses g<<48 | 1<<40 | k). Any aligned piece of a read tells which
// generation it came from.

const testSectorSize = 2048

// safePoint is what the lead passes: ISO 9660's volume descriptors.
var safePoint = ByteRange{Off: 16 * testSectorSize, Len: 2 * testSectorSize}

type pattern struct {
	tag  uint64 // generation<<48, plus 1<<40 for an initrd
	size int64
}

func (p pattern) word(k int64) uint64 { return p.tag | uint64(k) }

func (p pattern) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.size {
		return 0, errors.New("pattern: read past the end")
	}
	var w [8]byte
	n := 0
	for n < len(b) && off+int64(n) < p.size {
		o := off + int64(n)
		binary.LittleEndian.PutUint64(w[:], p.word(o/8))
		n += copy(b[n:], w[o%8:])
	}
	if n < len(b) {
		return n, errors.New("pattern: short read at the end")
	}
	return n, nil
}

// bytesAt is what a reader of the image of gen should see at off (zeros past
// imageSize).
func imageBytes(gen uint64, imageSize, off int64, n int) []byte {
	b := make([]byte, n)
	if off < imageSize {
		m := min(int64(n), imageSize-off)
		if _, err := (pattern{tag: gen << 48, size: imageSize}).ReadAt(b[:m], off); err != nil {
			panic(err)
		}
	}
	return b
}

func initrdBytes(gen uint64, size int64) []byte {
	b := make([]byte, size)
	if size > 0 {
		if _, err := initrdPattern(gen, size).ReadAt(b, 0); err != nil {
			panic(err)
		}
	}
	return b
}

func initrdPattern(gen uint64, size int64) pattern {
	return pattern{tag: gen<<48 | 1<<40, size: size}
}

// generationsIn returns the generations that the 8-byte-aligned words of b
// (read at off, a multiple of 8) name, ignoring zero words and the word cut
// by the end of an image (which looks like generation 0: tests start at 1).
func generationsIn(b []byte, off int64) map[uint64]bool {
	gens := map[uint64]bool{}
	for i := 0; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if w == 0 {
			continue
		}
		if int64(w&(1<<40-1)) != (off+int64(i))/8 {
			gens[^uint64(0)] = true // not a pattern word at its place
			continue
		}
		if w>>48 != 0 {
			gens[w>>48] = true
		}
	}
	return gens
}

// fakeSource publishes generations with an atomic swap to its subscriber
// (the mounted Server) and counts their references, as the live daemon
// does.
type fakeSource struct {
	cur      atomic.Pointer[live.Snapshot]
	capacity atomic.Int64

	mu   sync.Mutex
	held map[uint64]*fakeHold // every generation published
	subs []func(*live.Snapshot)
}

// fakeHold is a generation's reference count; closed records its last
// Release, as a generation closing its files.
type fakeHold struct {
	gen    uint64
	refs   atomic.Int64
	closed atomic.Int64
}

func (h *fakeHold) Retain() {
	if h.refs.Add(1) <= 1 {
		panic(fmt.Sprintf("generation %d: Retain after its last Release", h.gen))
	}
}

func (h *fakeHold) TryRetain() bool {
	for {
		n := h.refs.Load()
		if n <= 0 {
			return false
		}
		if h.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (h *fakeHold) Release() {
	switch n := h.refs.Add(-1); {
	case n < 0:
		panic(fmt.Sprintf("generation %d: Release without a reference", h.gen))
	case n == 0:
		h.closed.Add(1)
	}
}

func newFakeSource(capacity int64) *fakeSource {
	s := &fakeSource{}
	s.capacity.Store(capacity)
	return s
}

// publish makes generation gen current, with an image and an initrd of the
// given sizes.
func (s *fakeSource) publish(gen uint64, imageSize, initrdSize int64) *live.Snapshot {
	snap := s.snapshot(gen, imageSize, initrdSize)
	s.store(snap)
	return snap
}

// snapshot makes generation gen's snapshot, with one reference.
func (s *fakeSource) snapshot(gen uint64, imageSize, initrdSize int64) *live.Snapshot {
	h := &fakeHold{gen: gen}
	h.refs.Store(1)
	snap := &live.Snapshot{
		Generation: gen,
		Image:      pattern{tag: gen << 48, size: imageSize},
		ImageSize:  imageSize,
		Initrd:     initrdPattern(gen, initrdSize),
		InitrdSize: initrdSize,
		Capacity:   s.capacity.Load(),
		Holds:      h,
	}
	s.mu.Lock()
	if s.held == nil {
		s.held = map[uint64]*fakeHold{}
	}
	s.held[gen] = h
	s.mu.Unlock()
	return snap
}

// store makes snap, with its reference, current and hands it to the
// subscribers, each with a reference of its own.
func (s *fakeSource) store(snap *live.Snapshot) {
	if old := s.cur.Swap(snap); old != nil {
		old.Release()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fn := range s.subs {
		snap.Retain()
		fn(snap)
	}
}

// subscribe makes fn a subscriber, as live.Daemon.Subscribe does.
func (s *fakeSource) subscribe(fn func(*live.Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, fn)
}

// hold is generation gen's reference count.
func (s *fakeSource) hold(gen uint64) *fakeHold {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[gen]
}

func (s *fakeSource) Acquire() *live.Snapshot {
	for {
		snap := s.cur.Load()
		if snap == nil {
			return nil
		}
		if snap.TryRetain() {
			if s.cur.Load() == snap {
				return snap
			}
			snap.Release()
		}
	}
}
func (s *fakeSource) StatusJSON() []byte {
	gen := uint64(0)
	if snap := s.cur.Load(); snap != nil {
		gen = snap.Generation
	}
	return fmt.Appendf(nil, `{"generation": %d, "state": "ready"}`+"\n", gen)
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("LIVEISO_VFS_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// source is what a test mounts: a fakeSource, or the live daemon.
type source interface {
	Acquire() *live.Snapshot
	StatusJSON() []byte
}

// mountSource mounts src's current snapshot and status.json at dir, and
// subscribes the server to what src publishes after.
func mountSource(dir string, src source, opts Options, log *slog.Logger) (*Server, error) {
	opts.Status = src.StatusJSON
	s, err := Mount(dir, src.Acquire(), opts, log)
	if err != nil {
		return nil, err
	}
	switch src := src.(type) {
	case *fakeSource:
		src.subscribe(s.Publish)
	case *live.Daemon:
		src.Subscribe(s.Publish)
	}
	return s, nil
}

// mountT mounts src on a fresh directory and unmounts it when the test ends,
// however it ends.
func mountT(t testing.TB, src source, opts Options) (*Server, string) {
	t.Helper()
	requireFUSE(t)
	dir := t.TempDir()
	s, err := mountSource(dir, src, opts, testLogger(t))
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	t.Cleanup(func() { unmountT(t, s, dir) })
	return s, dir
}

// unmountT unmounts cleanly, or else by force, so that no test leaves a
// mount behind.
func unmountT(t testing.TB, s *Server, dir string) {
	t.Helper()
	if err := s.Unmount(); err != nil {
		t.Errorf("Unmount: %v", err)
		if out, err := exec.Command("fusermount3", "-u", dir).CombinedOutput(); err != nil {
			t.Logf("fusermount3 -u: %v: %s", err, out)
			if out, err := exec.Command("fusermount3", "-uz", dir).CombinedOutput(); err != nil {
				t.Logf("fusermount3 -uz: %v: %s", err, out)
			}
		}
	}
	done := make(chan struct{})
	go func() { s.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("server did not stop within 10s of unmounting %s", dir)
	}
}

func requireFUSE(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("no FUSE (/dev/fuse): %v", err)
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		if os.Geteuid() != 0 {
			t.Fatalf("no fusermount3 (package fuse3; scripts/setup.sh installs it): %v", err)
		}
	}
}

func readFileAt(t testing.TB, f *os.File, off int64, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	got, err := f.ReadAt(b, off)
	if got != n {
		t.Fatalf("ReadAt(%s, off %d, %d bytes) = %d, %v", filepath.Base(f.Name()), off, n, got, err)
	}
	return b
}
