package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// What the fleet step reads from the origin, and the table it writes.

type originCount struct {
	generation     uint64
	files, scripts int64
}

var metricLineRe = regexp.MustCompile(`(?m)^liveiso_http_response_bytes_total\{route="(\w+)"[^}]*\} (\d+)$|^liveiso_generation (\d+)$`)

// originBytes reads the origin's /metrics.
func originBytes(hc *http.Client, origin string) (originCount, error) {
	var c originCount
	resp, err := hc.Get(origin + "metrics")
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return c, err
	}
	for _, m := range metricLineRe.FindAllStringSubmatch(string(b), -1) {
		if m[3] != "" {
			c.generation, _ = strconv.ParseUint(m[3], 10, 64)
			continue
		}
		v, _ := strconv.ParseInt(m[2], 10, 64)
		switch m[1] {
		case "boot_script", "sanboot_script":
			c.scripts += v
		case "chunk", "generation", "stable", "redirect":
			c.files += v
		}
	}
	return c, nil
}

// waitGeneration waits until the origin serves generation gen or newer.
func waitGeneration(ctx context.Context, hc *http.Client, origin string, gen uint64) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		c, err := originBytes(hc, origin)
		if err == nil && c.generation >= gen {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no generation %d after 5 minutes", gen)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// renderFleet writes the fleet table.
func renderFleet(p func(string, ...any), f *fleetResult, errText string) {
	p("## 7b. A fleet behind a cache: origin bytes per generation\n\n")
	if f == nil {
		p("Not measured: %s\n\n", oneLine(errText))
		return
	}
	p("liveiso serve of %s behind one nginx cache (testenv.CacheConfig), N clients following /boot.ipxe at once, then a one-file edit (`%s` rewritten in place) and the same again. "+
		"Origin bytes from its /metrics: files (kernel, initrd, chunks) and, apart, the iPXE scripts, which no cache keeps. "+
		"The edit changed %d of %d chunks (kernel and trailer counted), %s compressed; the whole initrd is %s.\n\n",
		f.Corpus, f.EditedFile, f.ChangedChunks, f.Chunks, mb(float64(f.ChangedBytes)), mb(float64(f.InitrdBytes)))
	p("| boot | clients | generation 1: files | scripts | generation 2 (after the edit): files | scripts | generation 2 files / changed chunks |\n")
	p("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range f.Rows {
		if r.Err != "" {
			p("| %s | %d | not measured: %s | | | | |\n", r.Mode, r.Clients, oneLine(r.Err))
			continue
		}
		ratio := "n/a"
		if f.ChangedBytes > 0 {
			ratio = fmt.Sprintf("%.2fx", float64(r.Files[1])/float64(f.ChangedBytes))
		}
		p("| %s | %d | %s | %s | %s | %s | %s |\n", r.Mode, r.Clients, mb(float64(r.Files[0])), kb(r.Scripts[0]), mb(float64(r.Files[1])), kb(r.Scripts[1]), ratio)
	}
	p("\n")
}

func kb(n int64) string { return fmt.Sprintf("%.1f KB", float64(n)/1e3) }

// fleetTarget is issue 29's target over the rows.
func fleetTarget(f *fleetResult) target {
	t := target{name: fmt.Sprintf("behind a cache with chunks, a one-file edit costs the origin at most %.1fx the changed chunks' compressed bytes, for every fleet size", targetFleetRatio), unknown: f == nil}
	if f == nil {
		return t
	}
	t.met = f.ChangedBytes > 0
	var worst float64
	for _, r := range f.Rows {
		if r.Mode != fleetModes[0].name {
			continue
		}
		if r.Err != "" {
			t.met = false
			continue
		}
		ratio := float64(r.Files[1]) / float64(max(f.ChangedBytes, 1))
		worst = max(worst, ratio)
		t.met = t.met && ratio <= targetFleetRatio
	}
	t.detail = fmt.Sprintf("Worst: %.2fx (files; the scripts, which pass the cache, are apart).", worst)
	return t
}
