package live

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/watch"
)

func TestAutoCapacity(t *testing.T) {
	for _, tc := range []struct{ size, want int64 }{
		{1, 256*MiB + MiB},         // plus 256 MiB, rounded up to a MiB
		{100 * MiB, 356 * MiB},     // plus 256 MiB beats doubling
		{256 * MiB, 512 * MiB},     // equal
		{300*MiB + 1, 601 * MiB},   // doubling, rounded up
		{2048 * MiB, 4096 * MiB},   // doubling
		{10 * MiB, 266 * MiB},      // small images still get room for a package or two
		{256*MiB - 1, 512 * MiB},   // rounding up lands on the MiB
		{MiB * 1000, MiB * 2000},   // doubling
		{MiB*1000 + 7, MiB * 2001}, // rounded up
	} {
		if got := autoCapacity(tc.size); got != tc.want {
			t.Errorf("autoCapacity(%d) = %d MiB + %d, want %d MiB", tc.size, got/MiB, got%MiB, tc.want/MiB)
		}
	}
}

func TestPending(t *testing.T) {
	var p pending
	p.add(watch.Batch{Paths: []string{"etc/b", "etc/a"}})
	p.add(watch.Batch{Paths: []string{"etc/a", "usr"}})
	if !p.fresh {
		t.Fatal("a batch must make the pending set fresh")
	}
	paths, full := p.take()
	if full || !slices.Equal(paths, []string{"etc/a", "etc/b", "usr"}) {
		t.Fatalf("take = %v, %v", paths, full)
	}
	if p.fresh || len(p.paths) != 0 {
		t.Fatal("take must empty the set")
	}
	// A failed build puts its paths back without asking for an immediate retry.
	p.restore(paths, false)
	if p.fresh {
		t.Error("restore must not ask for a rebuild by itself")
	}
	p.add(watch.Batch{Full: true})
	paths, full = p.take()
	if !full || len(paths) != 3 {
		t.Errorf("after restore and a full batch: take = %v, %v", paths, full)
	}
}

// testBuilder makes a generation builder over a tiny rootfs, with a stand-in
// kernel file: these tests exercise publication, not booting.
func testBuilder(t *testing.T) (*generation.Builder, string) {
	t.Helper()
	b, root, _ := testBuilderKernel(t)
	return b, root
}

// testBuilderKernel is testBuilder, and the path of its kernel.
func testBuilderKernel(t *testing.T) (*generation.Builder, string, string) {
	t.Helper()
	root, kernel := testTree(t)
	return newTestBuilder(t, root, kernel, 0), root, kernel
}

// testTree makes testBuilder's rootfs and kernel.
func testTree(t *testing.T) (root, kernel string) {
	t.Helper()
	root = t.TempDir()
	for _, d := range []string{"etc", "sbin", "dev"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(root, "etc/marker"), "one")
	write(t, filepath.Join(root, "sbin/init"), "#!/bin/sh\n")
	kernel = filepath.Join(t.TempDir(), "vmlinuz")
	write(t, kernel, strings.Repeat("k", 5000))
	return root, kernel
}

// newTestBuilder makes a builder of root and kernel with the packer's racy
// window racy (0: the default).
func newTestBuilder(t *testing.T, root, kernel string, racy time.Duration) *generation.Builder {
	t.Helper()
	b, err := generation.NewBuilder(generation.Options{
		Rootfs: root,
		Kernel: kernel,
		Initramfs: cache.Options{
			CacheDir:   t.TempDir(),
			RacyWindow: racy,
		},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readStatus(t *testing.T, d *Daemon) Status {
	t.Helper()
	var s Status
	if err := json.Unmarshal(d.StatusJSON(), &s); err != nil {
		t.Fatalf("status.json: %v\n%s", err, d.StatusJSON())
	}
	return s
}

// runDaemon starts a Daemon of b on root: its first generation, then Run on
// the batches the test sends, until the test ends.
func runDaemon(t *testing.T, b Builder, root string) (*Daemon, chan<- watch.Batch) {
	t.Helper()
	d := New(b, Options{Rootfs: root}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := d.First(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	batches := make(chan watch.Batch)
	ran := make(chan struct{})
	go func() { d.Run(ctx, batches); close(ran) }()
	t.Cleanup(func() { cancel(); <-ran })
	return d, batches
}

// waitStatus polls status.json until cond holds.
func waitStatus(t *testing.T, d *Daemon, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := readStatus(t, d)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; status.json:\n%s", what, d.StatusJSON())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDaemonPublishesAndSurvivesFailure(t *testing.T) {
	b, root := testBuilder(t)
	d := New(b, Options{Rootfs: root}, slog.New(slog.DiscardHandler))
	if d.Current() != nil {
		t.Fatal("a snapshot before the first build")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g1, err := d.First(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := readStatus(t, d)
	if s.State != StateReady || s.Generation != 1 || s.ImageSize != g1.Image.Size() || s.Capacity != autoCapacity(g1.Image.Size()) {
		t.Fatalf("after the first build: %+v", s)
	}
	capacity := d.Capacity()

	batches := make(chan watch.Batch)
	notified := make(chan *Snapshot, 10)
	d.Subscribe(func(s *Snapshot) { notified <- s })
	if s := <-notified; s.Generation != 1 {
		t.Fatalf("a new subscriber was told of generation %d, want the current one, 1", s.Generation)
	} else {
		s.Release()
	}
	ran := make(chan struct{})
	go func() { d.Run(ctx, batches); close(ran) }()
	// Run ends before the builder is closed (a cleanup): it may be settling.
	defer func() { cancel(); <-ran }()

	// An edit: a new generation with the new bytes, the same capacity.
	write(t, filepath.Join(root, "etc/marker"), "two")
	batches <- watch.Batch{Paths: []string{"etc/marker"}}
	s = waitStatus(t, d, "generation 2", func(s Status) bool { return s.Generation == 2 && s.State == StateReady })
	// status.json says 2 only after the subscribers were told.
	select {
	case sub := <-notified:
		if sub.Generation != 2 || sub.Status.ChunksRebuilt != s.ChunksRebuilt {
			t.Errorf("the subscriber was told of generation %d (%+v), want 2", sub.Generation, sub.Status)
		}
		sub.Release()
	default:
		t.Fatal("status.json says generation 2 before the subscriber was told")
	}
	if s.ChunksRebuilt == 0 || d.Capacity() != capacity {
		t.Errorf("generation 2: %+v, capacity %d (was %d)", s, d.Capacity(), capacity)
	}
	good := d.Current()

	// A file newc cannot store (4 GiB): the build fails, the last good
	// generation stays served, and the error names the file.
	big := filepath.Join(root, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	batches <- watch.Batch{Paths: []string{"big"}}
	s = waitStatus(t, d, "the error", func(s Status) bool { return s.State == StateError })
	if !strings.Contains(s.Error, "big") || s.Generation != 2 {
		t.Errorf("failed build: status %+v", s)
	}
	if d.Current() != good {
		t.Error("a failed build replaced the served generation")
	}

	// Fixing it (an unrelated edit comes first: the fix must still be seen,
	// because the failed build's paths stay pending).
	if err := os.Remove(big); err != nil {
		t.Fatal(err)
	}
	batches <- watch.Batch{Paths: []string{"etc"}}
	s = waitStatus(t, d, "recovery", func(s Status) bool { return s.State == StateReady })
	if s.Generation != 3 || s.Error != "" || s.Failed != 1 || s.Published != 3 {
		t.Errorf("after the fix: %+v", s)
	}
	cur := d.Current()
	buf := make([]byte, cur.InitrdSize)
	if _, err := cur.Initrd.ReadAt(buf, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
}

// blockingBuilder fails its first build after the daemon's first generation
// and holds the next one until released, so a test can read status.json
// while a build runs.
type blockingBuilder struct {
	inner   Builder
	calls   int
	fail    error
	release chan struct{}
}

func (b *blockingBuilder) Build(ctx context.Context, changed []string) (*generation.Generation, error) {
	b.calls++
	switch b.calls {
	case 2:
		return nil, b.fail
	case 3:
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.inner.Build(ctx, changed)
}

func (b *blockingBuilder) Settle(ctx context.Context) (cache.Settled, error) {
	return b.inner.Settle(ctx)
}

// While a build runs after a failed one, status.json says "building" with no
// error: "error" is only ever the failure of the last finished build, so a
// script that checks it does not report a failure that may be fixed already.
func TestStatusBuildingAfterFailureHasNoError(t *testing.T) {
	inner, root := testBuilder(t)
	b := &blockingBuilder{inner: inner, fail: errors.New("read " + root + "/etc/shadow: permission denied"), release: make(chan struct{})}
	d, batches := runDaemon(t, b, root)

	batches <- watch.Batch{Paths: []string{"etc/shadow"}}
	waitStatus(t, d, "the error", func(s Status) bool { return s.State == StateError })
	batches <- watch.Batch{Paths: []string{"etc/shadow"}}
	s := waitStatus(t, d, "building", func(s Status) bool { return s.State == StateBuilding })
	if s.Error != "" {
		t.Errorf("status.json while building: error %q, want none", s.Error)
	}
	close(b.release)
	s = waitStatus(t, d, "ready", func(s Status) bool { return s.State == StateReady })
	if s.Generation != 2 || s.Error != "" {
		t.Errorf("after the build: %+v", s)
	}
}

// A --capacity smaller than the first image is replaced, and the log says
// by what: the capacity image.iso really has.
func TestCapacitySmallerThanImage(t *testing.T) {
	b, root := testBuilder(t)
	var logs bytes.Buffer
	d := New(b, Options{Rootfs: root, CapacityBytes: 4096}, slog.New(slog.NewTextHandler(&logs, nil)))
	g, err := d.First(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := d.Capacity()
	if got < g.Image.Size() {
		t.Fatalf("capacity %d < image size %d", got, g.Image.Size())
	}
	if s := readStatus(t, d); s.Capacity != got {
		t.Errorf("status.json capacity %d, image.iso is %d", s.Capacity, got)
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("capacity=%d", got)) {
		t.Errorf("the log does not say the capacity used (%d):\n%s", got, logs.String())
	}
	if strings.Contains(logs.String(), "using the image's size") && got != g.Image.Size() {
		t.Errorf("the log says the image's size (%d) is used, but the capacity is %d:\n%s", g.Image.Size(), got, logs.String())
	}
}

// writeBurst writes n files in 20 directories below root/usr/share over
// about d, the way dpkg unpacks: each file as NAME.dpkg-new, renamed into
// place, a short pause after every package (directory).
func writeBurst(t *testing.T, root string, n int, d time.Duration) {
	t.Helper()
	const packages = 20
	pause := d / packages
	for p := range packages {
		start := time.Now()
		dir := filepath.Join(root, "usr/share", fmt.Sprintf("pkg%02d", p))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n / packages {
			f := filepath.Join(dir, fmt.Sprintf("file%03d", i))
			write(t, f+".dpkg-new", strings.Repeat(fmt.Sprintf("%s %d\n", f, i), 20))
			if err := os.Rename(f+".dpkg-new", f); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(pause - time.Since(start))
	}
}

// TestBurstFewGenerations writes 2,000 files within about 1 s under a real
// watcher: the burst is published as at most 2 generations after the first
// (one more when its first few events look like a lone edit, then the rest:
// the quiet time that ends a burst, set to 1 s here so that a loaded machine
// pausing the writer does not split it), and the last one holds all 2,000.
func TestBurstFewGenerations(t *testing.T) {
	b, root := testBuilder(t)
	d := New(b, Options{Rootfs: root}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := watch.New(root, watch.Options{Debounce: time.Second, MaxDelay: time.Minute}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := d.First(ctx); err != nil {
		t.Fatal(err)
	}
	before := readStatus(t, d)
	ran := make(chan struct{})
	go func() { d.Run(ctx, w.Batches()); close(ran) }()
	defer func() { cancel(); <-ran }()

	const files = 2000
	start := time.Now()
	writeBurst(t, root, files, time.Second)
	t.Logf("wrote %d files in %v", files, time.Since(start).Round(time.Millisecond))
	want := before.Entries + files + 2 + 20 // usr, usr/share and 20 package directories
	s := waitStatus(t, d, "all files in a generation", func(s Status) bool {
		return s.State == StateReady && s.Entries == want
	})
	// Idle again: no batch is pending once the debounce has passed twice.
	time.Sleep(2 * time.Second)
	s = readStatus(t, d)
	if s.State != StateReady || s.Entries != want {
		t.Fatalf("after the burst: %+v, want %d entries", s, want)
	}
	published := s.Published - before.Published
	t.Logf("burst: %d builds started, %d cancelled, %d generations published", s.Started-before.Started, s.Cancelled, published)
	if published < 1 || published > 2 {
		t.Errorf("a burst of %d files became %d generations, want 1 or 2", files, published)
	}
	if s.Started != s.Cancelled+s.Failed+s.Published {
		t.Errorf("build counts do not add up: %+v", s.BuildCounts)
	}
	// The last generation's archive holds every file, under its final name.
	cur := d.Current()
	if cur.Generation != s.Generation {
		t.Fatalf("serving generation %d, status.json says %d", cur.Generation, s.Generation)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`usr/share/pkg[0-9]+/file[0-9]+(\.dpkg-new)?\x00`).FindAll(unpackedInitrd(t, cur), -1) {
		names[string(m)] = true
	}
	for p := range 20 {
		for i := range files / 20 {
			if name := fmt.Sprintf("usr/share/pkg%02d/file%03d\x00", p, i); !names[name] {
				t.Fatalf("the last generation lacks %s", name)
			}
		}
	}
	if len(names) != files {
		t.Errorf("the last generation holds %d burst files, want %d (a .dpkg-new left?)", len(names), files)
	}
}

// unpackedInitrd is the concatenated cpio of a snapshot's initrd: its gzip
// members decompressed, up to the first bytes that are not one.
func unpackedInitrd(t *testing.T, s *Snapshot) []byte {
	t.Helper()
	raw := make([]byte, s.InitrdSize)
	if _, err := s.Initrd.ReadAt(raw, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	r := bytes.NewReader(raw)
	var out bytes.Buffer
	z := new(gzip.Reader)
	for z.Reset(r) == nil {
		z.Multistream(false)
		if _, err := io.Copy(&out, z); err != nil {
			t.Fatalf("initrd member: %v", err)
		}
	}
	if out.Len() == 0 {
		t.Fatal("no gzip member in the initrd")
	}
	return out.Bytes()
}

// cancelledBuilder holds its second build until it is cancelled.
type cancelledBuilder struct {
	inner Builder
	calls int
}

func (b *cancelledBuilder) Build(ctx context.Context, changed []string) (*generation.Generation, error) {
	b.calls++
	if b.calls == 2 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return b.inner.Build(ctx, changed)
}

func (b *cancelledBuilder) Settle(ctx context.Context) (cache.Settled, error) {
	return b.inner.Settle(ctx)
}

// TestBuildCounts: a build abandoned for a newer edit counts as cancelled,
// the build that replaces it as published, and status.json says so.
func TestBuildCounts(t *testing.T) {
	inner, root := testBuilder(t)
	d, batches := runDaemon(t, &cancelledBuilder{inner: inner}, root)

	batches <- watch.Batch{Paths: []string{"etc/marker"}}
	waitStatus(t, d, "the second build", func(s Status) bool { return s.Started == 2 })
	write(t, filepath.Join(root, "etc/marker"), "two")
	batches <- watch.Batch{Paths: []string{"etc/marker"}}
	s := waitStatus(t, d, "generation 2", func(s Status) bool { return s.Generation == 2 && s.State == StateReady })
	want := BuildCounts{Started: 3, Cancelled: 1, Published: 2}
	if s.BuildCounts != want {
		t.Errorf("build counts %+v, want %+v", s.BuildCounts, want)
	}
	for _, key := range []string{`"builds_started": 3`, `"builds_cancelled": 1`, `"builds_failed": 0`, `"generations_published": 2`} {
		if !strings.Contains(string(d.StatusJSON()), key) {
			t.Errorf("status.json lacks %s:\n%s", key, d.StatusJSON())
		}
	}
}

// A generation of a tree made just before has racy chunks; once the racy
// window has passed the idle daemon settles them without a new generation,
// status.json says so, and the first edit rebuilds one chunk.
func TestDaemonSettlesRacyChunks(t *testing.T) {
	start := time.Now()
	root, kernel := testTree(t)
	for i := range 300 {
		data := make([]byte, 16<<10)
		for j := range data {
			data[j] = byte(i*7 + j*j%251)
		}
		dir := filepath.Join(root, fmt.Sprintf("usr/d%02d", i%20))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, fmt.Sprintf("f%03d", i)), string(data))
	}
	// A racy window that holds every file just written, with a margin, and
	// no more: the daemon settles them once it has passed, rather than
	// after the default 2 s.
	b := newTestBuilder(t, root, kernel, time.Since(start)+500*time.Millisecond)
	d := New(b, Options{Rootfs: root}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	g, err := d.First(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := readStatus(t, d)
	if g.Stats.ChunksTotal < 3 || s.ChunksRacy != g.Stats.ChunksTotal {
		t.Fatalf("first generation of a fresh tree: %d of %d chunks racy, want all (and several)", s.ChunksRacy, g.Stats.ChunksTotal)
	}
	batches := make(chan watch.Batch)
	ran := make(chan struct{})
	go func() { d.Run(ctx, batches); close(ran) }()
	defer func() { cancel(); <-ran }()

	s = waitStatus(t, d, "the racy chunks settled", func(s Status) bool { return s.ChunksRacy == 0 })
	if s.Generation != 1 {
		t.Errorf("settling published generation %d", s.Generation)
	}
	// The same size, so that no chunk cut at the packer's bound on chunk
	// size moves.
	write(t, filepath.Join(root, "usr/d03/f003"), strings.Repeat("e", 16<<10))
	batches <- watch.Batch{Paths: []string{"usr/d03/f003"}}
	s = waitStatus(t, d, "generation 2", func(s Status) bool { return s.Generation == 2 && s.State == StateReady })
	if s.ChunksRebuilt != 1 || s.ChunksRacy != 1 {
		t.Errorf("first edit after settling: %d of %d chunks rebuilt, %d racy, want 1 and 1", s.ChunksRebuilt, s.ChunksTotal, s.ChunksRacy)
	}
}
