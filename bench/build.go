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
	Boots    string // firmware the image boots on, as the report shows it
	SizeRef  string // the classic row whose image boots on the same firmware
	Seconds  samples
	Bytes    samples // image sizes
}

// Names of liveiso's rows in the build table.
const (
	liveisoCold     = "liveiso build, empty cache"
	liveisoWarm     = "liveiso build, warm cache"
	liveisoBIOSCold = "liveiso build --boot bios --no-hybrid, empty cache"
	liveisoGzipCold = "liveiso build --compression gzip, empty cache"
	liveisoGzipWarm = "liveiso build --compression gzip, warm cache"
)

// liveisoGzipArgs are the compression of the first wave's default, kept
// beside --compression auto's rows for comparison.
var liveisoGzipArgs = []string{"--compression", "gzip"}

// liveisoBIOSArgs make liveiso's image BIOS-only and CD-only, the kind the
// classic recipe makes. Without them it boots on BIOS and UEFI (both
// loaders are installed) and carries an MBR/GPT for booting from a disk.
var liveisoBIOSArgs = []string{"--boot", "bios", "--no-hybrid"}

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
// on all of them alike. It leaves the last default liveiso image at
// imagePath.
func measureBuilds(ctx context.Context, cfg *config, c *corpus, work, imagePath string) ([]*buildResult, error) {
	var results []*buildResult
	byName := map[string]*buildResult{}
	row := func(name, boots, sizeRef string) {
		r := &buildResult{Pipeline: name, Boots: boots, SizeRef: sizeRef}
		byName[name] = r
		results = append(results, r)
	}
	for _, p := range classicPipelines() {
		row(p.Name, p.boots(), p.sameBoot())
	}
	// liveiso's default boots UEFI through shim (setup.sh installs it).
	row(liveisoCold, bootsBothSB+", hybrid", classicUEFISB)
	row(liveisoWarm, bootsBothSB+", hybrid", classicUEFISB)
	row(liveisoBIOSCold, bootsBIOS, classicBIOS)
	row(liveisoGzipCold, bootsBothSB+", hybrid", classicUEFISB)
	row(liveisoGzipWarm, bootsBothSB+", hybrid", classicUEFISB)
	gzipImage := filepath.Join(work, "liveiso-gzip.iso")
	defer os.Remove(gzipImage)
	add := func(round int, name string, seconds float64, size int64) {
		cfg.logf("%s round %d: %-52s %7.2f s  %d bytes", c.Name, round, name, seconds, size)
		r := byName[name]
		r.Seconds = append(r.Seconds, seconds)
		r.Bytes = append(r.Bytes, float64(size))
	}
	biosImage := filepath.Join(work, "liveiso-bios.iso")
	defer os.Remove(biosImage)
	for round := 1; round <= cfg.runs; round++ {
		for _, p := range classicPipelines() {
			s, size, err := runClassic(ctx, p, filepath.Join(work, "classic"), c.Root, cfg.liveiso.kernel)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", p.Name, c.Name, err)
			}
			add(round, p.Name, s, size)
		}
		// BIOS-only and gzip first, each in a cache directory of its own,
		// so that the default build's image is the one left at imagePath.
		for _, b := range []struct {
			name, out, cache string
			args             []string
		}{
			{liveisoBIOSCold, biosImage, filepath.Join(work, "build-cache-bios"), liveisoBIOSArgs},
			{liveisoGzipCold, gzipImage, filepath.Join(work, "build-cache-gzip"), liveisoGzipArgs},
			{liveisoGzipWarm, gzipImage, filepath.Join(work, "build-cache-gzip"), liveisoGzipArgs},
			{liveisoCold, imagePath, filepath.Join(work, "build-cache"), nil},
			{liveisoWarm, imagePath, filepath.Join(work, "build-cache"), nil},
		} {
			if b.name != liveisoWarm && b.name != liveisoGzipWarm {
				if err := os.RemoveAll(b.cache); err != nil {
					return nil, err
				}
			}
			s, size, err := cfg.liveiso.build(ctx, c.Root, b.out, b.cache, b.args...)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", b.name, c.Name, err)
			}
			add(round, b.name, s, size)
		}
	}
	return results, nil
}
