package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// buildResult is one pipeline's from-scratch builds of one tree.
type buildResult struct {
	Pipeline string
	Seconds  samples
	Bytes    samples // image sizes
}

// Names of liveiso's rows in the build table.
const (
	liveisoCold = "liveiso build, empty cache"
	liveisoWarm = "liveiso build, warm cache"
)

// warmPageCache reads every file of the tree once, so that every pipeline
// after it finds the tree in the page cache and none pays for the first
// read from disk.
func warmPageCache(ctx context.Context, root string) error {
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -o pipefail; find . | cpio --quiet -o -H newc > /dev/null")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("read %s: %w\n%s", root, err, out)
	}
	return nil
}

// measureBuilds runs every pipeline runs times on the tree, interleaved (one
// of each per round) so that the load other users put on the machine falls
// on all of them alike. It leaves the last liveiso image at imagePath.
func measureBuilds(ctx context.Context, cfg *config, c *corpus, work, imagePath string) ([]*buildResult, error) {
	var results []*buildResult
	byName := map[string]*buildResult{}
	add := func(name string, seconds float64, size int64) {
		r := byName[name]
		if r == nil {
			r = &buildResult{Pipeline: name}
			byName[name] = r
			results = append(results, r)
		}
		r.Seconds = append(r.Seconds, seconds)
		r.Bytes = append(r.Bytes, float64(size))
	}
	for round := 1; round <= cfg.runs; round++ {
		for _, p := range classicPipelines() {
			s, size, err := runClassic(ctx, p, filepath.Join(work, "classic"), c.Root, cfg.liveiso.kernel)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", p.Name, c.Name, err)
			}
			cfg.logf("%s round %d: %-32s %7.2f s  %d bytes", c.Name, round, p.Name, s, size)
			add(p.Name, s, size)
		}
		cacheDir := filepath.Join(work, "build-cache")
		if err := os.RemoveAll(cacheDir); err != nil {
			return nil, err
		}
		for _, name := range []string{liveisoCold, liveisoWarm} {
			s, size, err := cfg.liveiso.build(ctx, c.Root, imagePath, cacheDir)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", name, c.Name, err)
			}
			cfg.logf("%s round %d: %-32s %7.2f s  %d bytes", c.Name, round, name, s, size)
			add(name, s, size)
		}
	}
	return results, nil
}
