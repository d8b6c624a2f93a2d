package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/liveiso/liveiso/integration"
)

// Targets of issue 6, as ratios measured in the same run.
const (
	targetEditSpeedup = 100  // classic full rebuild / edit-to-ready, on the Debian tree
	targetColdTime    = 0.55 // liveiso cold build / classic
	targetColdSize    = 1.02 // liveiso image / classic image
	targetWarmTime    = 0.05 // liveiso warm build / classic
	// Issue 14, on the Debian tree with the default settings.
	targetDebianColdTime = 0.1  // liveiso cold build / classic
	targetDebianSize     = 0.93 // liveiso image / the same-boot classic image
	targetRead           = 0.7  // live read / page-cache file read
	targetBoot           = 0.05 // |live boot / file boot - 1|
	targetRSSGrowth      = 2.0  // bounded-memory peak RSS, largest tree / smallest tree
	targetEditFlat       = 2.0  // one-file edit-to-ready, largest synthetic tree / smallest
)

// Targets of issue 14: edit-to-ready of a lone edit, generations of a burst.
const (
	targetOneFileDebian = 0.030 // seconds, one-file edit-to-ready median on the Debian tree
	targetOneFile200k   = 0.060 // seconds, the same on synthetic-200k
	targetAptGens       = 3     // generations published for the apt-like burst on the Debian tree (median)
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
	p("  (integration.BuildReference; isolinux.bin, ldlinux.c32, the kernel and isolinux.cfg are copied into ISO first; the time is the whole of it.\n")
	p("  With UEFI, ISO/%s (GRUB: the same kernel, initrd and command line) and esp-grub.cfg (find the CD by its label,\n", integration.ReferenceGrubCfgPath)
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
	p("- boot: `%s`, the clock from QEMU's start to the console line `%s<marker>` (polled every 10 ms);\n", qemuCommand(), integration.MarkerPrefix)
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
	renderFleet(p, r.Fleet, r.FleetError)
	renderLoop(p, r.Loops, r.LoopError, cfg.edits)

	renderSoak(p, r.Soak, cfg.soakEdits, r.SoakError)

	p("## Targets (from the numbers above)\n\n")
	for _, t := range r.targets() {
		p("- %s: %s. %s\n", t.name, t.verdict(), t.detail)
	}
	return b.String()
}

type target struct {
	name    string
	met     bool
	unknown bool // not measured in this run
	detail  string
}

// targetHTTPRatio is issue 15's target: liveiso serve's throughput against nginx's.
const targetHTTPRatio = 0.8

func (t target) verdict() string {
	switch {
	case t.unknown:
		return "not measured"
	case t.met:
		return "met"
	}
	return "**not met**"
}

// targets judges each target of issue 6 on this run's numbers.
func (r *results) targets() []target {
	ts := []target{fleetTarget(r.Fleet)}

	// Edit-to-ready on the Debian tree, and the gap widening with size.
	t := target{name: fmt.Sprintf("edit-to-ready at least %dx faster than the classic full rebuild on the Debian minbase tree", targetEditSpeedup)}
	if d := r.debian(); d != nil {
		t.met = true
		var parts []string
		for _, e := range d.Mount.Edits {
			ratio := d.classic().Seconds.median() / e.Seconds.median()
			t.met = t.met && ratio >= targetEditSpeedup
			parts = append(parts, fmt.Sprintf("%s %.0fx (%s)", e.Kind, ratio, ms(e.Seconds.median())))
		}
		t.detail = "Classic " + fmt.Sprintf("%.1f s", d.classic().Seconds.median()) + "; " + strings.Join(parts, ", ") + "."
	} else {
		t.unknown = true
		t.detail = "No Debian tree in this run: " + oneLine(r.DebianError)
	}
	ts = append(ts, t)
	if syn := r.synthetic(); len(syn) >= 2 {
		t := target{name: "the gap widening with tree size (one-file edit, synthetic trees)", met: true}
		var parts []string
		prev := 0.0
		for _, c := range syn {
			ratio := c.classic().Seconds.median() / c.Mount.Edits[0].Seconds.median()
			t.met = t.met && ratio > prev
			prev = ratio
			parts = append(parts, fmt.Sprintf("%s %.0fx", c.Corpus.Name, ratio))
		}
		t.detail = strings.Join(parts, ", ") + "."
		ts = append(ts, t)
		a, z := syn[0], syn[len(syn)-1]
		growth := z.Mount.Edits[0].Seconds.median() / a.Mount.Edits[0].Seconds.median()
		ts = append(ts, target{
			name:   fmt.Sprintf("edit-to-ready nearly flat with tree size (one-file edit, %s at most %.0fx %s)", z.Corpus.Name, targetEditFlat, a.Corpus.Name),
			met:    growth <= targetEditFlat,
			detail: fmt.Sprintf("%s -> %s: %.2fx (%.1fx the entries).", ms(a.Mount.Edits[0].Seconds.median()), ms(z.Mount.Edits[0].Seconds.median()), growth, float64(z.Corpus.Entries)/float64(a.Corpus.Entries)),
		})
	}

	perTree := func(name string, ok func(c *corpusResult) (bool, string)) target {
		t := target{name: name, met: len(r.Corpora) > 0}
		var parts []string
		for _, c := range r.Corpora {
			good, s := ok(c)
			t.met = t.met && good
			parts = append(parts, c.Corpus.Name+" "+s)
		}
		t.detail = strings.Join(parts, "; ") + "."
		return t
	}
	ts = append(ts, perTree(fmt.Sprintf("cold build at most %.2fx the classic time (BIOS-only classic)", targetColdTime), func(c *corpusResult) (bool, string) {
		x := c.build(liveisoCold).Seconds.median() / c.classic().Seconds.median()
		return x <= targetColdTime, fmt.Sprintf("%.3fx", x)
	}))
	ts = append(ts, perTree(fmt.Sprintf("cold build image at most %.2fx the classic size, like for like (default liveiso, %s, against classic + UEFI + Secure Boot; --boot bios --no-hybrid against classic)",
		targetColdSize, bootsBothSB), func(c *corpusResult) (bool, string) {
		cold := c.build(liveisoCold).Bytes.median()
		both := cold / c.build(classicUEFISB).Bytes.median()
		bios := c.build(liveisoBIOSCold).Bytes.median() / c.classic().Bytes.median()
		return both <= targetColdSize && bios <= targetColdSize,
			fmt.Sprintf("default %.4fx, BIOS-only %.4fx (default against the BIOS-only classic, not like for like: %.4fx)", both, bios, cold/c.classic().Bytes.median())
	}))
	t = target{name: fmt.Sprintf("on the Debian tree with the default settings, a cold build at most %.2fx the classic time and an image at most %.2fx the same-boot classic image", targetDebianColdTime, targetDebianSize)}
	if d := r.debian(); d != nil {
		x := d.build(liveisoCold).Seconds.median() / d.classic().Seconds.median()
		size := d.build(liveisoCold).Bytes.median() / d.build(classicUEFISB).Bytes.median()
		noShim := d.build(liveisoCold).Bytes.median() / d.build(classicUEFI).Bytes.median()
		gx := d.build(liveisoGzipCold).Seconds.median() / d.classic().Seconds.median()
		gsize := d.build(liveisoGzipCold).Bytes.median() / d.build(classicUEFISB).Bytes.median()
		t.met = x <= targetDebianColdTime && size <= targetDebianSize
		t.detail = fmt.Sprintf("cold build %.3fx, image %.4fx of classic + UEFI + Secure Boot (%.4fx of classic + UEFI, whose ESP has no shim; with --compression gzip: %.3fx, %.4fx).", x, size, noShim, gx, gsize)
	} else {
		t.unknown, t.detail = true, "No Debian tree in this run: "+oneLine(r.DebianError)
	}
	ts = append(ts, t)
	ts = append(ts, perTree(fmt.Sprintf("warm build at most %.2fx the classic time", targetWarmTime), func(c *corpusResult) (bool, string) {
		x := c.build(liveisoWarm).Seconds.median() / c.classic().Seconds.median()
		return x <= targetWarmTime, fmt.Sprintf("%.3fx", x)
	}))
	ts = append(ts, perTree(fmt.Sprintf("live read throughput at least %.1fx a page-cache file read (cold and warm)", targetRead), func(c *corpusResult) (bool, string) {
		rd := c.Mount.Read
		cold, warm := rd.LiveCold.median()/rd.PageCache.median(), rd.LiveWarm.median()/rd.PageCache.median()
		return cold >= targetRead && warm >= targetRead, fmt.Sprintf("cold %.2fx, warm %.2fx", cold, warm)
	}))
	t = target{name: fmt.Sprintf("boot from the live mount within %.0f%% of boot from the built file", targetBoot*100)}
	if r.Boot != nil {
		x := r.Boot.Live.median() / r.Boot.File.median()
		t.met = x <= 1+targetBoot && x >= 1-targetBoot
		t.detail = fmt.Sprintf("%.2f s vs %.2f s: %.3fx.", r.Boot.Live.median(), r.Boot.File.median(), x)
	} else {
		t.unknown = true
		t.detail = oneLine(r.BootError)
	}
	ts = append(ts, t)
	if syn := r.synthetic(); len(syn) >= 2 {
		a, z := syn[0], syn[len(syn)-1]
		g := float64(z.Mount.LimitPeakRSS) / float64(a.Mount.LimitPeakRSS)
		ts = append(ts, target{
			name: fmt.Sprintf("daemon RSS bounded by --cache-memory, not by the tree (peak RSS with --cache-memory %s on %s at most %.0fx that on %s)",
				r.Config.cacheMemory, z.Corpus.Name, targetRSSGrowth, a.Corpus.Name),
			met: g <= targetRSSGrowth,
			detail: fmt.Sprintf("%s -> %s (%.2fx) for %.1fx the entries and %.1fx the initrd; default limit: %s -> %s.",
				mib(a.Mount.LimitPeakRSS), mib(z.Mount.LimitPeakRSS), g, float64(z.Mount.Entries)/float64(a.Mount.Entries),
				float64(z.Mount.InitrdBytes)/float64(a.Mount.InitrdBytes), mib(a.Mount.PeakRSS), mib(z.Mount.PeakRSS)),
		})
	}
	// HTTP against nginx (issue 15).
	t = target{name: fmt.Sprintf("liveiso serve at least %.1fx nginx's throughput on every read pattern", targetHTTPRatio), unknown: r.HTTP == nil}
	if h := r.HTTP; h != nil {
		t.met = true
		var parts []string
		for _, row := range h.Rows {
			ratio := row.Liveiso.median() / row.Nginx.median()
			t.met = t.met && ratio >= targetHTTPRatio
			parts = append(parts, fmt.Sprintf("%s x%d %.2fx", row.Pattern, row.Clients, ratio))
		}
		t.detail = strings.Join(parts, ", ") + fmt.Sprintf("; RSS at most %s with 64 clients.", mib(h.RSSPeak))
	}
	ts = append(ts, t)
	ts = append(ts, r.burstTargets()...)
	ts = append(ts, loopTargets(r.Loops, r.LoopError)...)
	if r.Soak != nil {
		ts = append(ts, r.Soak.checks()...)
	} else {
		ts = append(ts, target{name: "soak", unknown: true, detail: oneLine(r.SoakError)})
	}
	return ts
}

// burstTargets judges the targets of issue 14: a lone edit is not held back
// by the debounce, and a burst still becomes few generations.
func (r *results) burstTargets() []target {
	oneFile := func(name string, c *corpusResult, limit float64) target {
		t := target{name: fmt.Sprintf("one-file edit-to-ready at most %s (median) on the %s tree", ms(limit), name)}
		if c == nil {
			t.unknown, t.detail = true, "No such tree in this run."
			return t
		}
		m := c.Mount.Edits[0].Seconds.median()
		t.met, t.detail = m <= limit, ms(m)+"."
		return t
	}
	var big *corpusResult
	for _, c := range r.synthetic() {
		if c.Corpus.Name == "synthetic-200k" {
			big = c
		}
	}
	apt := target{name: fmt.Sprintf("an apt-get-like burst (%s; %s) published as at most %d generations (median) on the Debian tree", burstStream, burstDpkg, targetAptGens)}
	if d := r.debian(); d != nil && len(d.Mount.Bursts) > 0 {
		apt.met = true
		var parts []string
		for _, e := range d.Mount.Bursts {
			if e.Kind == burstGit {
				continue
			}
			apt.met = apt.met && e.Published.median() <= targetAptGens
			parts = append(parts, fmt.Sprintf("%s: %s generations, %s builds cancelled", e.Kind, counts(e.Published), counts(e.Cancelled)))
		}
		apt.detail = strings.Join(parts, "; ") + "."
	} else {
		apt.unknown, apt.detail = true, "No Debian tree in this run: "+oneLine(r.DebianError)
	}
	return []target{oneFile("Debian minbase", r.debian(), targetOneFileDebian), apt, oneFile("synthetic-200k", big, targetOneFile200k)}
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

// Formatting.

func secs(s samples) string {
	if s.median() < 1 {
		return fmt.Sprintf("%s (%s-%s)", ms(s.median()), strings.TrimSuffix(ms(s.min()), " ms"), ms(s.max()))
	}
	return fmt.Sprintf("%.2f s (%.2f-%.2f)", s.median(), s.min(), s.max())
}

func ms(seconds float64) string { return fmt.Sprintf("%.0f ms", seconds*1000) }

// counts is a median of counts with its range.
func counts(s samples) string {
	return fmt.Sprintf("%.0f (%.0f-%.0f)", s.median(), s.min(), s.max())
}

func rate(s samples) string {
	return fmt.Sprintf("%.0f MB/s (%.0f-%.0f)", s.median()/1e6, s.min()/1e6, s.max()/1e6)
}

func mb(n float64) string { return fmt.Sprintf("%.1f MB", n/1e6) }

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func cpuModel() string {
	for _, line := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	for _, line := range strings.Split(readFile("/proc/meminfo"), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(rest), &kb)
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

func toolVersion(tool, flag string) string {
	out, err := exec.Command(tool, flag).CombinedOutput()
	if err != nil && len(out) == 0 {
		return tool + " (version unknown)"
	}
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return tool
}
