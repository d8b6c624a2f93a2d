package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/internal/testenv"
)

// The soak of issue 16: a mount left running through many edits on the
// 10k-file tree, with its footprint recorded as it goes.
const (
	soakFiles       = 10_000
	soakBigEvery    = 10       // every 10th edit rewrites the big file
	soakBigBytes    = 10 << 20 // 10 MB of random bytes
	soakCopyEvery   = 50       // a full cp of image.iso
	soakProbeEvery  = 200      // the long-open handle reads sector 16
	soakSampleEvery = 100      // disk, fds and RSS recorded
	soakCacheSize   = 256 << 20
	// soakBigSettle is how old each version of the big file gets before
	// its next rewrite (the last one-file edit ahead of the rewrite waits
	// for it): past the racy window, so that edit's Pack stores it and
	// the store grows by 10 MB a rewrite until it trims.
	soakBigSettle = cache.DefaultRacyWindow + 250*time.Millisecond
	// soakPressed is the share of --cache-size the cache directory must
	// reach in some sample, besides the store trimming at all: a soak that
	// never presses the bound proves nothing about it.
	soakPressed = 0.8
	// soakFDBound is the bound the soak states for the daemon's open fds:
	// the store's cache of open member files (128) and a margin for the
	// held generations' files, inotify, FUSE and the runtime.
	soakFDBound = 128 + 64
	// soakRSSGrowth bounds peak RSS (VmHWM) at the end against peak RSS
	// after 100 edits: the RSS of the moment swings with the collector's
	// cycle, the peak grows only if memory does.
	soakRSSGrowth = 1.2
)

// soakResult is the soak's figures and the options it ran with.
type soakResult struct {
	*testenv.SoakResult
	Corpus    string
	Edits     int
	CacheSize int64
}

// measureSoak runs the soak on the synthetic 10k tree.
func measureSoak(ctx context.Context, cfg *config, work string) (*soakResult, error) {
	c, err := syntheticCorpus(filepath.Join(cfg.dir, "corpus"), soakFiles, cfg.seed)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	r, err := testenv.Soak(ctx, testenv.SoakOptions{
		Bin: cfg.liveiso.bin, Rootfs: c.Root, Kernel: cfg.liveiso.kernel,
		CacheDir: filepath.Join(work, "cache"), Work: work,
		Args:  []string{"--cache-size", fmt.Sprint(soakCacheSize>>20, "M")},
		Edits: cfg.soakEdits, BigEvery: soakBigEvery, BigBytes: soakBigBytes, BigSettle: soakBigSettle,
		CopyEvery: soakCopyEvery, ProbeEvery: soakProbeEvery, SampleEvery: soakSampleEvery,
		Logf: cfg.logf,
	})
	if err != nil {
		return nil, fmt.Errorf("soak on %s: %w", c.Name, err)
	}
	return &soakResult{SoakResult: r, Corpus: c.Name, Edits: cfg.soakEdits, CacheSize: soakCacheSize}, nil
}

// at100 is the sample after the first 100 edits, the soak's baseline.
func (s *soakResult) at100() *testenv.SoakSample {
	for i := range s.Samples {
		if s.Samples[i].Edit == 100 {
			return &s.Samples[i]
		}
	}
	return nil
}

// checks judges the end of the soak.
func (s *soakResult) checks() []target {
	end := s.Samples[len(s.Samples)-1]
	var ts []target
	var most int64
	for _, x := range s.Samples {
		most = max(most, x.DiskBytes)
	}
	ts = append(ts, target{
		name: fmt.Sprintf("soak: the bound pressed (the store trimmed, the cache directory at %.0f%% of --cache-size or more in some sample)", 100*soakPressed),
		met:  s.Trims > 0 && float64(most) >= soakPressed*float64(s.CacheSize),
		detail: fmt.Sprintf("%d trims removed %s; at most %s (%.0f%%) sampled.", s.Trims, mib(s.TrimmedBytes), mib(most),
			100*float64(most)/float64(s.CacheSize)),
	})
	ts = append(ts, target{
		name:   fmt.Sprintf("soak: the cache directory within --cache-size %d MiB at the end", s.CacheSize>>20),
		met:    end.DiskBytes <= s.CacheSize,
		detail: fmt.Sprintf("%s.", mib(end.DiskBytes)),
	})
	ts = append(ts, target{
		name:   fmt.Sprintf("soak: open fds within %d at the end", soakFDBound),
		met:    end.FDs <= soakFDBound,
		detail: fmt.Sprintf("%d.", end.FDs),
	})
	t := target{name: fmt.Sprintf("soak: peak RSS (VmHWM) at the end within %.1fx peak RSS after 100 edits", soakRSSGrowth)}
	if b := s.at100(); b != nil {
		x := float64(end.PeakBytes) / float64(b.PeakBytes)
		t.met = x <= soakRSSGrowth
		t.detail = fmt.Sprintf("%s -> %s: %.2fx (RSS of the moment %s -> %s).", mib(b.PeakBytes), mib(end.PeakBytes), x, mib(b.RSSBytes), mib(end.RSSBytes))
	} else {
		t.unknown = true
		t.detail = "fewer than 100 edits."
	}
	ts = append(ts, t)
	want := s.Edits / soakCopyEvery
	ts = append(ts, target{
		name:   "soak: every copy whole (its initrd unpacks), every read of sector 16 a volume descriptor",
		met:    s.Copies == want && len(s.Problems) == 0,
		detail: fmt.Sprintf("%d of %d copies whole, %d reads of sector 16%s.", s.Copies, want, s.Probes, problems(s.Problems)),
	})
	ts = append(ts, target{
		name:   "soak: no error in the daemon's log",
		met:    len(s.LogErrors) == 0,
		detail: fmt.Sprintf("%d error lines%s.", len(s.LogErrors), problems(s.LogErrors)),
	})
	return ts
}

func problems(ps []string) string {
	if len(ps) == 0 {
		return ""
	}
	return "; the first: " + oneLine(ps[0])
}

// renderSoak writes the soak's section of the report.
func renderSoak(p func(string, ...any), s *soakResult, edits int, soakErr string) {
	p("## 9. Soak: a mount left running through %d edits\n\n", edits)
	if s == nil {
		p("Not measured: %s\n\n", oneLine(soakErr))
		return
	}
	p("`liveiso mount --cache-size %dM` on %s (default --cache-memory); one-file edits, each waited for until its generation is ready;\n", s.CacheSize>>20, s.Corpus)
	p("every %dth edit rewrites a %d MB file of random bytes instead, and the edit before it waits, if need be, until that file is %.2f s old\n", soakBigEvery, soakBigBytes>>20, soakBigSettle.Seconds())
	p("(the racy window, %.0f s, and a margin), so that its Pack stores the file's member and the store grows by %d MB a rewrite until it trims;\n", cache.DefaultRacyWindow.Seconds(), soakBigBytes>>20)
	p("a full `cp` of image.iso starts every %d edits while the edits go on\n", soakCopyEvery)
	p("(its initrd then extracted with xorriso and listed with zstd/gzip and cpio); an image.iso handle opened before the first edit stays\n")
	p("open to the end, like a running QEMU, and reads sector 16 every %d edits. %d edits in %.0f s (%.1f a second).\n\n", soakProbeEvery, s.Edits, s.Took.Seconds(), s.EditsPerS)
	p("| edit | generation | cache directory | open fds | RSS (VmRSS) | peak RSS (VmHWM) |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range s.Samples {
		p("| %d | %d | %s | %d | %s | %s |\n", x.Edit, x.Generation, mib(x.DiskBytes), x.FDs, mib(x.RSSBytes), mib(x.PeakBytes))
	}
	p("\nThe cache directory's size counts each file once (pins are hard links); the last row is taken after the last copy ended.\n\n")
}
