package main

import (
	"fmt"
	"strings"
)

// The targets the report judges, from the issues that set them: each a
// name, a verdict on this run's numbers and the figures behind it.

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
	var ts []target

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
