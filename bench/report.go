package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/liveiso/liveiso/internal/testenv"
)

// renderReport writes the whole of BENCHMARKS.md.
func renderReport(r *results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cfg := r.Config
	p("# liveiso benchmarks\n\n")
	p("Written by `go run ./bench` (see bench/main.go); every number below comes from the run of %s,\n", r.Started.Format("2006-01-02 15:04 MST"))
	p("which took %.0f minutes. Medians of repeated measurements, with min-max; ratios are of medians.\n", r.Took.Minutes())
	p("The machine is shared with other work, so single numbers are noisy: read the medians.\n\n")

	p("## Machine\n\n")
	p("| | |\n|---|---|\n")
	p("| CPU | %s, %d cores (nproc) |\n", cpuModel(), runtime.NumCPU())
	p("| memory | %s |\n", memTotal())
	p("| kernel | %s |\n", strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")))
	p("| Go | %s |\n", runtime.Version())
	p("| tools | %s; %s; %s; %s; %s |\n", toolVersion("gzip", "--version"), toolVersion("pigz", "--version"),
		toolVersion("cpio", "--version"), toolVersion("genisoimage", "--version"), toolVersion("xorriso", "-version"))
	p("| date | %s |\n\n", r.Started.Format("2006-01-02 15:04:05 MST"))

	p("## Trees\n\n")
	p("| tree | entries | bytes of files | made by |\n|---|---:|---:|---|\n")
	for _, cr := range r.Corpora {
		c := cr.Corpus
		how := fmt.Sprintf("bench/corpus.go, seed %d: 10%% empty files, 65%% up to 4 KiB, 24%% up to 32 KiB, 1%% up to 1 MiB, %d of 8-40 MiB; 70%% text, 30%% random bytes; 3%% symlinks, 1%% hard links; nested directories", cfg.seed, c.Huge)
		if strings.HasPrefix(c.Name, "debian") {
			how = "`debootstrap --variant=minbase bookworm DIR MIRROR`, MIRROR being the Debian mirror apt is configured with"
		}
		p("| %s | %d | %s | %s |\n", c.Name, c.Entries, mb(float64(c.Bytes)), how)
	}
	if r.DebianError != "" {
		p("\nNo Debian minbase tree in this run: %s\n", oneLine(r.DebianError))
	}
	p("\nThe trees are cached in `%s/corpus` and made only when missing. Before the measurements of a tree,\n", cfg.dir)
	p("one `find | cpio -o` pass puts it in the page cache, so no pipeline pays for the first read from disk.\n\n")

	p("## Commands\n\n")
	for _, pl := range classicPipelines() {
		p("- %s:\n  `%s`\n", pl.Name, pl.command())
	}
	p("  (testenv.BuildReference; isolinux.bin, ldlinux.c32, the kernel and isolinux.cfg are copied into ISO first; the time is the whole of it.\n")
	p("  With UEFI, ISO/%s (GRUB: the same kernel, initrd and command line) and esp-grub.cfg (find the CD by its label,\n", testenv.ReferenceGrubCfgPath)
	p("  read that file; gcdx64 reads the CD's at once) are written first too.)\n")
	p("- %s: `%s` with the cache directory removed first;\n", liveisoCold, buildCommand("EMPTY_DIR"))
	p("  the image boots on BIOS and UEFI, UEFI through shim so that it boots with Secure Boot on (isolinux, GRUB and shim are installed),\n")
	p("  and has an MBR/GPT (hybrid) for booting from a disk\n")
	p("- %s: the same command again right after, with the cache the cold build filled\n", liveisoWarm)
	p("- %s: `%s` with a cache directory of its own, removed first;\n", liveisoBIOSCold, buildCommand("EMPTY_DIR", liveisoBIOSArgs...))
	p("- %s and %s: `%s`, the same pair with the first wave's default compression in a cache directory of its own;\n", liveisoGzipCold, liveisoGzipWarm, buildCommand("EMPTY_DIR", liveisoGzipArgs...))
	p("  BIOS only and CD only, the kind of image the classic recipe makes\n")
	p("- edit-to-ready: `liveiso mount --rootfs ROOTFS --kernel vmlinuz --append '...' --cache-dir EMPTY_DIR MOUNTPOINT`; the clock starts\n")
	p("  before the edit's first system call and stops at the `ready_at` (the daemon's clock when it published the generation) of\n")
	p("  the first newer generation that MOUNTPOINT/status.json (read every %v) shows in state \"ready\" with the expected number\n", statusPoll)
	p("  of entries. Each edit starts once the daemon has been idle for 300 ms.\n")
	p("  The classic pipeline's counterpart is its full rebuild (the first row of table 2).\n")
	p("  Generations published, builds cancelled and builds started are status.json's counters from before the edit until the\n")
	p("  daemon has been at rest for 300 ms after it.\n")
	p("- bursts (table 1b): the same clock, to the generation that holds the whole burst. %s: %d files in %d new directories\n", burstStream, aptFiles, aptPackages)
	p("  written at an even pace over %v, each as NAME.dpkg-new renamed into place; %s: `dpkg --root=DIR --force-all -i` of a package\n", aptSpan, burstDpkg)
	p("  of the same files, DIR a fresh dpkg root inside the tree; %s: `git --git-dir=OUTSIDE --work-tree=DIR checkout -q BRANCH`,\n", burstGit)
	p("  alternating between a tree of %d files and one that rewrites half of them, removes the rest and adds %d, the repository outside the rootfs.\n", gitDirs*gitPerDir, gitNewDirs*gitPerDir)
	p("- reads: `%s`, of MOUNTPOINT/image.iso (IMAGE_SIZE = status.json image_size) and of the\n", ddCommand)
	p("  file liveiso build wrote (its size; read once before, so it is in the page cache). Cold: the first read after a new generation; warm: the second.\n")
	p("- boot: `%s`, the clock from QEMU's start to the console line `%s<marker>` (polled every 10 ms);\n", qemuCommand(), testenv.MarkerPrefix)
	p("  the file liveiso build wrote is read once before the boots, so it is in the page cache.\n")
	p("- peak RSS: VmHWM of /proc/PID/status of the daemon after the edits and reads; a second session with `--cache-memory %s`\n", cfg.cacheMemory)
	p("  (empty cache, 3 one-file edits, one full read of image.iso).\n\n")

	// 1. Edit-to-ready.
	p("## 1. Edit-to-ready (%d edits of each kind)\n\n", cfg.readyEdits)
	p("| tree | edit | liveiso edit-to-ready | daemon build_ms | chunks rebuilt | classic full rebuild | classic / liveiso |\n")
	p("|---|---|---:|---:|---:|---:|---:|\n")
	for _, c := range r.Corpora {
		classic := c.classic()
		for _, e := range c.Mount.Edits {
			p("| %s | %s | %s | %.0f ms | %.0f | %s | **%.0fx** |\n", c.Corpus.Name, e.Kind, secs(e.Seconds), e.BuildMs.median(),
				e.Rebuilt.median(), secs(classic.Seconds), classic.Seconds.median()/e.Seconds.median())
		}
	}
	p("\n")

	// 1b. Generations per edit.
	p("## 1b. Generations per edit and per burst (%d of each)\n\n", cfg.readyEdits)
	p("| tree | edit | edit-to-ready | generations published | builds cancelled | builds started |\n")
	p("|---|---|---:|---:|---:|---:|\n")
	for _, c := range r.Corpora {
		for _, e := range append(append([]*editResult(nil), c.Mount.Edits...), c.Mount.Bursts...) {
			p("| %s | %s | %s | %s | %s | %s |\n", c.Corpus.Name, e.Kind, secs(e.Seconds), counts(e.Published), counts(e.Cancelled), counts(e.Started))
		}
	}
	p("\n")

	// 2. Builds.
	p("## 2. Building the image from scratch (%d runs, interleaved)\n\n", cfg.runs)
	p("| tree | pipeline | boots | time | image size | time vs classic | size vs classic | size vs same-boot classic |\n")
	p("|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, c := range r.Corpora {
		classic := c.classic()
		for _, br := range c.Builds {
			p("| %s | %s | %s | %s | %s | %.3fx | %.4fx | %.4fx |\n", c.Corpus.Name, br.Pipeline, br.Boots, secs(br.Seconds), mb(br.Bytes.median()),
				br.Seconds.median()/classic.Seconds.median(), br.Bytes.median()/classic.Bytes.median(),
				br.Bytes.median()/c.build(br.SizeRef).Bytes.median())
		}
	}
	p("\n\"vs classic\" is against the first row of each tree, classic (BIOS only). \"Same-boot classic\" is the classic row that boots\n")
	p("on the same firmware, the one to judge an image's size by: classic + UEFI + Secure Boot for the %s rows (liveiso's default ESP\n", bootsBothSB)
	p("holds shim, GRUB and MokManager, as Debian's images do), classic + UEFI for the %s rows, classic for the %s rows.\n", bootsBoth, bootsBIOS)
	p("Hybrid: liveiso's default image also has an MBR and a GPT (with its backup at the end of the image), which no classic row has.\n\n")

	// 3. Reads.
	p("## 3. Sequential read throughput (%d runs)\n\n", cfg.runs)
	p("| tree | bytes | live image.iso, cold | live image.iso, warm | page-cache file | cold / file | warm / file |\n")
	p("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range r.Corpora {
		rd := c.Mount.Read
		p("| %s | %s | %s | %s | %s | %.2fx | %.2fx |\n", c.Corpus.Name, mb(float64(rd.Bytes)), rate(rd.LiveCold), rate(rd.LiveWarm),
			rate(rd.PageCache), rd.LiveCold.median()/rd.PageCache.median(), rd.LiveWarm.median()/rd.PageCache.median())
	}
	p("\n")

	// 4. Boot.
	p("## 4. Boot to the marker in QEMU (busybox fixture, -accel tcg, %d boots each, alternating)\n\n", cfg.boots)
	if r.Boot == nil {
		p("Not measured: %s\n\n", oneLine(r.BootError))
	} else {
		p("| image | time to marker | vs file |\n|---|---:|---:|\n")
		p("| file written by liveiso build | %s | 1.000x |\n", secs(r.Boot.File))
		p("| live MOUNTPOINT/image.iso | %s | %.3fx |\n\n", secs(r.Boot.Live), r.Boot.Live.median()/r.Boot.File.median())
	}

	// 5. RSS.
	p("## 5. Peak RSS of the daemon (VmHWM)\n\n")
	p("| tree | entries | initrd | chunks | peak RSS, default | peak RSS, --cache-memory %s | first generation (empty cache) |\n", cfg.cacheMemory)
	p("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range r.Corpora {
		m := c.Mount
		p("| %s | %d | %s | %d | %s | %s | %.2f s |\n", c.Corpus.Name, m.Entries, mb(float64(m.InitrdBytes)), m.ChunksTotal,
			mib(m.PeakRSS), mib(m.LimitPeakRSS), m.FirstReady)
	}
	if syn := r.synthetic(); len(syn) >= 2 {
		a, z := syn[0], syn[len(syn)-1]
		de := float64(z.Mount.Entries - a.Mount.Entries)
		p("\nFrom %s to %s (%.1fx the entries, %.1fx the initrd): peak RSS %.2fx by default (%.0f bytes per added entry), %.2fx with --cache-memory %s (%.0f bytes per added entry).\n",
			a.Corpus.Name, z.Corpus.Name, float64(z.Mount.Entries)/float64(a.Mount.Entries), float64(z.Mount.InitrdBytes)/float64(a.Mount.InitrdBytes),
			float64(z.Mount.PeakRSS)/float64(a.Mount.PeakRSS), float64(z.Mount.PeakRSS-a.Mount.PeakRSS)/de,
			float64(z.Mount.LimitPeakRSS)/float64(a.Mount.LimitPeakRSS), cfg.cacheMemory, float64(z.Mount.LimitPeakRSS-a.Mount.LimitPeakRSS)/de)
	}
	p("\n")

	// 6. Scaling.
	p("## 6. Edit-to-ready against tree size\n\n")
	p("| tree | entries | one-file write | add 100 files | rm -rf a directory | classic full rebuild | classic / one-file |\n")
	p("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range r.Corpora {
		e := c.Mount.Edits
		classic := c.classic()
		p("| %s | %d | %s | %s | %s | %s | %.0fx |\n", c.Corpus.Name, c.Corpus.Entries, ms(e[0].Seconds.median()), ms(e[1].Seconds.median()),
			ms(e[2].Seconds.median()), secs(classic.Seconds), classic.Seconds.median()/e[0].Seconds.median())
	}
	p("\n")

	if r.HTTP != nil {
		renderHTTP(p, r.HTTP, cfg.runs)
	} else {
		p("## 7. HTTP: liveiso serve against nginx\n\nNot measured: %s\n\n", oneLine(r.HTTPError))
	}
	renderLoop(p, r.Loops, r.LoopError, cfg.edits)

	renderSoak(p, r.Soak, cfg.soakEdits, r.SoakError)

	p("## Targets (from the numbers above)\n\n")
	for _, t := range r.targets() {
		p("- %s: %s. %s\n", t.name, t.verdict(), t.detail)
	}
	return b.String()
}

func (c *corpusResult) build(name string) *buildResult {
	for _, b := range c.Builds {
		if b.Pipeline == name {
			return b
		}
	}
	return &buildResult{Pipeline: name}
}

func (c *corpusResult) classic() *buildResult { return c.build(classicBIOS) }

func (r *results) debian() *corpusResult {
	for _, c := range r.Corpora {
		if strings.HasPrefix(c.Corpus.Name, "debian") {
			return c
		}
	}
	return nil
}

func (r *results) synthetic() []*corpusResult {
	var s []*corpusResult
	for _, c := range r.Corpora {
		if strings.HasPrefix(c.Corpus.Name, "synthetic") {
			s = append(s, c)
		}
	}
	return s
}
