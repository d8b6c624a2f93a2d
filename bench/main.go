// Command bench measures liveiso against the classic live-CD pipeline
// (find | cpio | gzip -9 + genisoimage) on the same trees in one run, and
// writes the tables to BENCHMARKS.md and stdout.
//
//	go run ./bench [-quick] [-sizes 10k,50k,200k] [-debootstrap=true] [-runs 3] [-ready-edits 9] [-soak-edits 2000] [-out BENCHMARKS.md]
//	go run ./bench -loop-only [-debootstrap=false]   only the edit-boot loop of liveiso run, printed
//	go run ./bench -soak-only -out FILE   # the soak alone (bench/soak.go): about 7 minutes
//
// The trees (synthetic ones, deterministic from -seed, and a Debian minbase
// made with debootstrap) are cached in $LIVEISO_BENCH_DIR, by default
// /var/tmp/liveiso-bench, and made only when missing. It runs as root (FUSE,
// debootstrap) on a machine with the packages scripts/setup.sh installs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// config is the command line, resolved.
type config struct {
	dir         string
	sizes       []int
	debootstrap bool
	runs        int
	edits       int
	readyEdits  int
	boots       int
	seed        uint64
	cacheMemory string
	soakEdits   int
	out         string
	liveiso     liveisoTool
	start       time.Time
	httpOnly    bool
}

func (c *config) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %6.0fs: %s\n", time.Since(c.start).Seconds(), fmt.Sprintf(format, args...))
}

// corpusResult is everything measured on one tree.
type corpusResult struct {
	Corpus *corpus
	Builds []*buildResult
	Mount  *mountResult
}

// results is one whole run.
type results struct {
	Started     time.Time
	Took        time.Duration
	Config      *config
	Corpora     []*corpusResult
	DebianError string // why there is no Debian tree, if there is none
	Boot        *bootResult
	BootError   string
	Soak        *soakResult
	SoakError   string
	HTTP        *httpResult
	HTTPError   string
	Loops       []*loopResult // the edit-boot loop (liveiso run), per tree
	LoopError   string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := &config{start: time.Now()}
	var sizes string
	var quick, loop, loopOnly, soakOnly bool
	defaultDir := os.Getenv("LIVEISO_BENCH_DIR")
	if defaultDir == "" {
		defaultDir = "/var/tmp/liveiso-bench"
	}
	flag.StringVar(&cfg.dir, "dir", defaultDir, "`DIR` caching the trees and holding scratch files ($LIVEISO_BENCH_DIR)")
	flag.StringVar(&sizes, "sizes", "10k,50k,200k", "synthetic tree sizes in files, comma-separated")
	flag.BoolVar(&cfg.debootstrap, "debootstrap", true, "also measure a debootstrap --variant=minbase bookworm tree")
	flag.IntVar(&cfg.runs, "runs", 3, "repetitions of each build and read (at least 3)")
	flag.IntVar(&cfg.edits, "edits", 5, "repetitions of each edit-boot loop (at least 5)")
	// Nine, not five: a one-file edit of the Debian tree is ready in about
	// 29 ms with a spread of 25-46 ms, and a median of five samples moved
	// from 28 to 36 ms between two runs of the same code.
	flag.IntVar(&cfg.readyEdits, "ready-edits", 9, "repetitions of each kind of edit and burst of the edit-to-ready tables (at least 5)")
	flag.IntVar(&cfg.boots, "boots", 3, "QEMU boots from each image")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the synthetic trees")
	flag.StringVar(&cfg.cacheMemory, "cache-memory", "64M", "--cache-memory of the bounded-memory mount session")
	flag.IntVar(&cfg.soakEdits, "soak-edits", 2000, "edits of the soak on the 10k tree (0: no soak)")
	flag.BoolVar(&soakOnly, "soak-only", false, "run the soak alone (its section of the report; the others empty)")
	flag.StringVar(&cfg.out, "out", "BENCHMARKS.md", "write the report to `FILE` (relative to the repository root)")
	flag.BoolVar(&cfg.httpOnly, "http-only", false, "only the HTTP step (liveiso serve against nginx) on the first -sizes tree; print its table")
	flag.BoolVar(&loop, "loop", true, "measure the edit-boot loop of liveiso run (busybox fixture, and the Debian tree)")
	flag.BoolVar(&loopOnly, "loop-only", false, "measure only the edit-boot loop, and print its section instead of writing -out")
	flag.BoolVar(&quick, "quick", false, "smoke test: the 10k tree only, no Debian tree, 3 runs, 5 edits, 2 boots, a soak of 200 edits")
	flag.Parse()
	if quick {
		sizes, cfg.debootstrap, cfg.runs, cfg.edits, cfg.readyEdits, cfg.boots, cfg.soakEdits = "10k", false, 3, 5, 5, 2, 200
	}
	if soakOnly {
		sizes, cfg.debootstrap, loop = "", false, false
	}
	for _, s := range strings.Split(sizes, ",") {
		if soakOnly {
			break
		}
		n, err := parseCount(s)
		if err != nil {
			return err
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	cfg.runs, cfg.edits, cfg.readyEdits = max(cfg.runs, 3), max(cfg.edits, 5), max(cfg.readyEdits, 5)
	if !filepath.IsAbs(cfg.out) {
		root, err := testenv.RepoRoot()
		if err != nil {
			return err
		}
		cfg.out = filepath.Join(root, cfg.out)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	k, err := testenv.Kernel()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(cfg.dir, "bin"), 0o755); err != nil {
		return err
	}
	bin, err := buildLiveiso(ctx, filepath.Join(cfg.dir, "bin"))
	if err != nil {
		return err
	}
	cfg.liveiso = liveisoTool{bin: bin, kernel: k.Vmlinuz}

	res := &results{Started: cfg.start, Config: cfg}
	if loopOnly {
		cfg.sizes = nil
	}
	var corpora []*corpus
	for _, n := range cfg.sizes {
		c, err := syntheticCorpus(filepath.Join(cfg.dir, "corpus"), n, cfg.seed)
		if err != nil {
			return err
		}
		corpora = append(corpora, c)
	}
	if cfg.debootstrap {
		c, err := func() (*corpus, error) {
			mirror, err := debianMirror()
			if err != nil {
				return nil, err
			}
			return debianCorpus(ctx, filepath.Join(cfg.dir, "corpus"), mirror)
		}()
		if err != nil {
			res.DebianError = err.Error()
			cfg.logf("no Debian tree: %v", err)
		} else {
			corpora = append(corpora, c)
		}
	} else {
		res.DebianError = "not requested (-debootstrap=false)"
	}

	if cfg.httpOnly {
		h, err := measureHTTPIn(ctx, cfg, corpora[0])
		if err != nil {
			return err
		}
		var b strings.Builder
		renderHTTP(func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }, h, cfg.runs)
		fmt.Print(b.String())
		return nil
	}
	var debian *corpus
	for _, c := range corpora {
		if strings.HasPrefix(c.Name, "debian") {
			debian = c
		}
	}
	if loopOnly {
		if res.Loops, err = measureLoops(ctx, cfg, filepath.Join(cfg.dir, "work", "loop"), debian); err != nil {
			return err
		}
		var b strings.Builder
		p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
		renderLoop(p, res.Loops, "", cfg.edits)
		for _, t := range loopTargets(res.Loops, "") {
			p("- %s: %s. %s\n", t.name, t.verdict(), t.detail)
		}
		fmt.Print(b.String())
		return nil
	}

	for _, c := range corpora {
		cfg.logf("%s: %d entries, %.0f MB in %s", c.Name, c.Entries, float64(c.Bytes)/1e6, c.Root)
		work := filepath.Join(cfg.dir, "work", c.Name)
		if err := os.RemoveAll(work); err != nil {
			return err
		}
		if err := os.MkdirAll(work, 0o755); err != nil {
			return err
		}
		if err := warmPageCache(ctx, c.Root); err != nil {
			return err
		}
		image := filepath.Join(work, "liveiso.iso")
		builds, err := measureBuilds(ctx, cfg, c, work, image)
		if err != nil {
			return err
		}
		m, err := measureMount(ctx, cfg, c, work, image)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		res.Corpora = append(res.Corpora, &corpusResult{Corpus: c, Builds: builds, Mount: m})
		os.RemoveAll(work)
	}

	if soakOnly {
		res.BootError = "not requested (-soak-only)"
	} else {
		boot, err := measureBoot(ctx, cfg, filepath.Join(cfg.dir, "work", "boot"), cfg.boots)
		if err != nil {
			res.BootError = err.Error()
			cfg.logf("boot: %v", err)
		}
		res.Boot = boot
	}
	if cfg.soakEdits > 0 {
		soak, err := measureSoak(ctx, cfg, filepath.Join(cfg.dir, "work", "soak"))
		if err != nil {
			res.SoakError = err.Error()
			cfg.logf("soak: %v", err)
		}
		res.Soak = soak
	} else {
		res.SoakError = "not requested (-soak-edits 0)"
	}
	if soakOnly {
		res.HTTPError = "not requested (-soak-only)"
	} else if res.HTTP, err = measureHTTPIn(ctx, cfg, corpora[0]); err != nil {
		res.HTTPError = err.Error()
		cfg.logf("http: %v", err)
	}
	if loop {
		if res.Loops, err = measureLoops(ctx, cfg, filepath.Join(cfg.dir, "work", "loop"), debian); err != nil {
			res.LoopError = err.Error()
			cfg.logf("loop: %v", err)
		}
	} else {
		res.LoopError = "not requested (-loop=false)"
	}
	res.Took = time.Since(cfg.start)

	report := renderReport(res)
	fmt.Print(report)
	if err := os.WriteFile(cfg.out, []byte(report), 0o644); err != nil {
		return err
	}
	cfg.logf("wrote %s", cfg.out)
	return nil
}

// parseCount reads a file count: 10000, 10k.
func parseCount(s string) (int, error) {
	s = strings.TrimSpace(s)
	mult := 1
	if t, ok := strings.CutSuffix(strings.ToLower(s), "k"); ok {
		s, mult = t, 1000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-sizes: %q is not a file count like 10k", s)
	}
	return n * mult, nil
}

// measureHTTPIn runs the HTTP step on c in a work directory of its own.
func measureHTTPIn(ctx context.Context, cfg *config, c *corpus) (*httpResult, error) {
	work := filepath.Join(cfg.dir, "work", "http")
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	return measureHTTP(ctx, cfg, c, work)
}
