package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/cache"

	"github.com/liveiso/liveiso/internal/testenv"
)

// A daemon with nothing to do does nothing: after its first generation, 30 s
// without edits cost it under 0.1 s of CPU time (no polling while inotify
// works). A resource bound, not a speed: it holds on a loaded machine too.
func TestIdleCPU(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "idle")
	m := startMount(t, fx, "", "", "")
	before, _ := m.status()
	pid := m.cmd.Process.Pid
	cpu0, err := testenv.CPUSeconds(pid)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Second)
	cpu1, err := testenv.CPUSeconds(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("idle 30 s: %.2f s of CPU (%.2f s before, building the first generation and mounting)", cpu1-cpu0, cpu0)
	if cpu1-cpu0 >= 0.1 {
		t.Errorf("the idle daemon used %.2f s of CPU in 30 s, want under 0.1 s", cpu1-cpu0)
	}
	if after, _ := m.status(); after.Generation != before.Generation {
		t.Errorf("generation %d became %d without an edit", before.Generation, after.Generation)
	}
}

// Bounds of the short soak.
const (
	// soakFDBound is the most file descriptors the daemon may have open at
	// the end: the store's bounded cache of open member files (128), the
	// files of the few generations held (kernel, ldlinux.c32, the EFI
	// loader: a handful each), inotify, FUSE, the cache's lock, stdio and
	// the Go runtime's own.
	soakFDBound = 128 + 64
	// soakFDGrowth is how many more fds the daemon may have open at the
	// end than after the first 100 edits.
	soakFDGrowth = 8
	// soakRSSGrowth bounds the daemon's peak RSS (VmHWM) at the end against
	// its peak after the first 100 edits, by when the store has reached its
	// bound, the memory cache holds the latest initrd (and only that:
	// MEASUREMENTS.md, integration) and every kind of work (a big file, a
	// copy) has run. The
	// peak, not the RSS of the moment: that swings with the collector's
	// cycle (MEASUREMENTS.md, integration), the peak grows only if memory
	// does.
	soakRSSGrowth = 1.2
	// soakCacheSize is --cache-size: small, so that the store has to trim
	// (30 versions of the 10 MB file are stored), yet above what the
	// generations held at once pin (the latest, the held handle's and a
	// copy's: about 35 MB), so that a trim can get under it.
	soakCacheSize = 64 << 20
	// soakBigSettle is how old each version of the big file gets before
	// its next rewrite: past the racy window, so a Pack stores it.
	soakBigSettle = cache.DefaultRacyWindow + 250*time.Millisecond
	// soakMemLimit is the daemon's Go memory limit (GOMEMLIMIT) in the short
	// soak. On a tree this small the peak RSS is set by the collector,
	// which lets the heap grow toward the limit the daemon sets itself
	// (2 x (--cache-memory + 128M)), and whether 100 edits have reached it
	// yet is chance (MEASUREMENTS.md, integration). A limit the first 100
	// edits surely reach makes the peak after 100 edits the steady state
	// that a leak would grow past. The long soak in make bench runs with
	// the daemon's own limit.
	soakMemLimit = "160MiB"
)

// The short soak (the long one is in make bench): a few hundred edits on a
// live mount, a 10 MB file rewritten every 10th, a full copy of image.iso
// every 50 while the edits go on and a handle held open across the whole
// run reading sector 16 now and then. Each version of the big file lives
// past the racy window, so it is stored and the store has to trim. At the
// end the store has trimmed, the cache directory is within --cache-size,
// the fds within soakFDBound, peak RSS within soakRSSGrowth of what it was
// after 100 edits, every copy's initrd unpacks and the log has no error.
func TestSoakShort(t *testing.T) {
	t.Parallel()
	bin, err := liveisoBin()
	if err != nil {
		t.Fatalf("build liveiso: %v", err)
	}
	k, err := testenv.Kernel()
	if err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := testenv.BuildBusyboxRootfs(rootfs, "soak"); err != nil {
		t.Fatal(err)
	}
	// 2,000 small files besides busybox's, in 40 directories.
	for d := range 40 {
		dir := filepath.Join(rootfs, "usr/share/soak", fmt.Sprintf("d%02d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 50 {
			body := strings.Repeat(fmt.Sprintf("file %d of directory %d\n", f, d), 1+f*7)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.txt", f)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	work := t.TempDir()
	cacheDir := filepath.Join(work, "cache")
	testenv.CleanupUnmount(t, filepath.Join(work, "mnt"))
	res, err := testenv.Soak(t.Context(), testenv.SoakOptions{
		Bin: bin, Rootfs: rootfs, Kernel: k.Vmlinuz, CacheDir: cacheDir, Work: work,
		Args:  []string{"--cache-size", fmt.Sprint(soakCacheSize>>20, "M"), "--cache-memory", "16M"},
		Env:   []string{"GOMEMLIMIT=" + soakMemLimit},
		Edits: 300, BigEvery: 10, BigBytes: 10 << 20, BigSettle: soakBigSettle, CopyEvery: 25, ProbeEvery: 50, SampleEvery: 50,
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkSoak(t, res, 300/25, 300/50+1)
	t.Logf("300 edits in %v (%.1f a second)", res.Took.Round(time.Millisecond), res.EditsPerS)
}

// checkSoak checks the end of a soak.
func checkSoak(t *testing.T, res *testenv.SoakResult, copies, probes int) {
	t.Helper()
	for _, p := range res.Problems {
		t.Error(p)
	}
	for _, l := range res.LogErrors {
		t.Errorf("error in the daemon's log: %s", l)
	}
	if res.Copies != copies || res.Probes != probes {
		t.Errorf("%d whole copies, %d probes of the held handle; want %d, %d", res.Copies, res.Probes, copies, probes)
	}
	var at100 *testenv.SoakSample
	for i := range res.Samples {
		if res.Samples[i].Edit == 100 {
			at100 = &res.Samples[i]
		}
	}
	end := res.Samples[len(res.Samples)-1]
	if at100 == nil {
		t.Fatalf("no sample after edit 100: %+v", res.Samples)
	}
	t.Logf("after edit 100: cache %d MiB, %d fds, RSS %d MiB (peak %d MiB); at the end (edit %d): cache %d MiB, %d fds, RSS %d MiB (peak %d MiB)",
		at100.DiskBytes>>20, at100.FDs, at100.RSSBytes>>20, at100.PeakBytes>>20,
		end.Edit, end.DiskBytes>>20, end.FDs, end.RSSBytes>>20, end.PeakBytes>>20)
	var most int64
	for _, x := range res.Samples {
		most = max(most, x.DiskBytes)
	}
	t.Logf("%d trims removed %d MiB; the cache directory held at most %d MiB when sampled", res.Trims, res.TrimmedBytes>>20, most>>20)
	if res.Trims == 0 {
		t.Errorf("the store never trimmed: --cache-size %d MiB was never reached (at most %d MiB sampled)", soakCacheSize>>20, most>>20)
	}
	if end.DiskBytes > soakCacheSize {
		t.Errorf("the cache directory holds %d MiB at the end, over --cache-size %d MiB", end.DiskBytes>>20, soakCacheSize>>20)
	}
	if end.FDs > soakFDBound {
		t.Errorf("%d fds open at the end, over the bound of %d", end.FDs, soakFDBound)
	}
	// A run too short to reach the bound still shows an fd kept per
	// version of the big file (30 of them): the end is at rest, so it has
	// no more than after 100 edits but for a few of the runtime's.
	if end.FDs > at100.FDs+soakFDGrowth {
		t.Errorf("%d fds open at the end, %d after 100 edits: more than %d more", end.FDs, at100.FDs, soakFDGrowth)
	}
	if limit := soakRSSGrowth * float64(at100.PeakBytes); float64(end.PeakBytes) > limit {
		t.Errorf("peak RSS %d MiB at the end, over %.1fx the %d MiB after 100 edits", end.PeakBytes>>20, soakRSSGrowth, at100.PeakBytes>>20)
	}
}
