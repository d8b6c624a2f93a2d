package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/liveiso/liveiso/internal/procfs"

	"github.com/liveiso/liveiso/live"
)

// Kinds of edit.
const (
	editOneFile = "one-file write"
	editAdd100  = "add 100 files"
	editRmDir   = "rm -rf a directory"
)

// editResult is the edit-to-ready times of one kind of edit on one tree.
type editResult struct {
	Kind    string
	Detail  string  // what exactly was edited
	Seconds samples // from the edit's first syscall to status.json showing it ready
	BuildMs samples // the daemon's own build time of that generation (status.json build_ms)
	Rebuilt samples // chunks rebuilt
	// From the edit until the daemon was at rest again (status.json
	// generations_published, builds_cancelled, builds_started).
	Published, Cancelled, Started samples
}

// mountResult is what one `liveiso mount` session on a tree measured.
type mountResult struct {
	FirstReady   float64 // seconds from start to the first generation (empty cache)
	Edits        []*editResult
	Bursts       []*editResult // burstApt, burstGit (when git is installed)
	Read         *readResult
	PeakRSS      int64 // VmHWM
	Entries      int   // in the initrd
	ChunksTotal  int
	InitrdBytes  int64
	Limit        string // --cache-memory of the second session
	LimitPeakRSS int64  // VmHWM of a session with --cache-memory
}

// measureMount starts liveiso mount on the tree with an empty cache and
// measures edit-to-ready, live read throughput and the daemon's peak RSS;
// then a second session with --cache-memory cfg.cacheMemory measures its
// peak RSS. The tree is restored afterwards. builtImage is the file
// liveiso build wrote, for the page-cache read.
func measureMount(ctx context.Context, cfg *config, c *corpus, work, builtImage string) (*mountResult, error) {
	edits := cfg.readyEdits
	t, err := findEditTargets(c.Root, edits)
	if err != nil {
		return nil, err
	}
	orig, err := os.ReadFile(filepath.Join(c.Root, t.File))
	if err != nil {
		return nil, err
	}
	origInfo, err := os.Stat(filepath.Join(c.Root, t.File))
	if err != nil {
		return nil, err
	}
	backup := filepath.Join(work, "backup")
	if err := os.RemoveAll(backup); err != nil {
		return nil, err
	}
	for k, d := range t.RemoveD {
		dst := filepath.Join(backup, fmt.Sprint(k))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return nil, err
		}
		if out, err := exec.CommandContext(ctx, "cp", "-a", filepath.Join(c.Root, d), dst).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("back up %s: %w\n%s", d, err, out)
		}
	}
	var added []string
	removed := 0
	restore := func() error {
		var errs []string
		for _, p := range added {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err.Error())
			}
		}
		added = nil
		p := filepath.Join(c.Root, t.File)
		if err := os.WriteFile(p, orig, origInfo.Mode().Perm()); err != nil {
			errs = append(errs, err.Error())
		} else if err := os.Chtimes(p, origInfo.ModTime(), origInfo.ModTime()); err != nil {
			errs = append(errs, err.Error())
		}
		for k := 0; k < removed; k++ {
			d := t.RemoveD[k]
			src := filepath.Join(backup, fmt.Sprint(k), filepath.Base(d))
			if out, err := exec.Command("cp", "-a", src, filepath.Join(c.Root, filepath.Dir(d))+"/").CombinedOutput(); err != nil {
				errs = append(errs, fmt.Sprintf("restore %s: %v: %s", d, err, out))
			}
		}
		removed = 0
		if len(errs) > 0 {
			return fmt.Errorf("restore %s: %s", c.Root, strings.Join(errs, "; "))
		}
		return nil
	}

	res := &mountResult{Limit: cfg.cacheMemory}
	mnt := filepath.Join(work, "mnt")
	start := time.Now()
	d, err := cfg.liveiso.mount(c.Root, mnt, filepath.Join(work, "mount-cache"), filepath.Join(work, "mount.log"))
	if err != nil {
		return nil, err
	}
	res.FirstReady = time.Since(start).Seconds()
	cfg.logf("%s: liveiso mount first generation ready after %.2f s", c.Name, res.FirstReady)
	err = func() error {
		oneFile := &editResult{Kind: editOneFile, Detail: "rewrite " + t.File}
		add := &editResult{Kind: editAdd100, Detail: "100 files of 1 KiB in " + t.AddDir}
		rm := &editResult{Kind: editRmDir, Detail: fmt.Sprintf("%d directories of %d-%d entries", len(t.RemoveD), minInt(t.Removed), maxInt(t.Removed))}
		res.Edits = []*editResult{oneFile, add, rm}
		writeOne := func(i int) error {
			return os.WriteFile(filepath.Join(c.Root, t.File), fmt.Appendf(nil, "edit %d at %s\n%s", i, time.Now().Format(time.RFC3339Nano), orig), 0o644)
		}
		for i := 0; i < edits; i++ {
			if err := timeEdit(d, oneFile, 0, func() error { return writeOne(i) }); err != nil {
				return fmt.Errorf("%s: %w", oneFile.Kind, err)
			}
		}
		for i := 0; i < edits; i++ {
			err := timeEdit(d, add, 100, func() error {
				for j := 0; j < 100; j++ {
					p := filepath.Join(c.Root, t.AddDir, fmt.Sprintf("bench-add-%d-%03d.txt", i, j))
					added = append(added, p)
					if err := os.WriteFile(p, []byte(strings.Repeat(fmt.Sprintf("line %d of file %d\n", i, j), 56)), 0o644); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("%s: %w", add.Kind, err)
			}
		}
		for i := 0; i < edits; i++ {
			err := timeEdit(d, rm, -t.Removed[i], func() error {
				removed++
				out, err := exec.Command("rm", "-rf", filepath.Join(c.Root, t.RemoveD[i])).CombinedOutput()
				if err != nil {
					return fmt.Errorf("rm -rf: %w: %s", err, out)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("%s: %w", rm.Kind, err)
			}
		}
		res.Bursts, err = measureBursts(d, c.Root, t.AddDir, work, edits)
		if err != nil {
			return err
		}
		for _, e := range append(res.Edits, res.Bursts...) {
			cfg.logf("%s: %-20s edit-to-ready median %.3f s (min %.3f, max %.3f), build_ms median %.0f, generations published median %.0f (max %.0f), builds cancelled median %.0f",
				c.Name, e.Kind, e.Seconds.median(), e.Seconds.min(), e.Seconds.max(), e.BuildMs.median(),
				e.Published.median(), e.Published.max(), e.Cancelled.median())
		}

		// Reads: a new generation, its first read (cold), its second (warm).
		r := &readResult{FileBytes: sizeOf(builtImage)}
		res.Read = r
		for i := 0; i < cfg.runs; i++ {
			before, err := d.settle(300 * time.Millisecond)
			if err != nil {
				return err
			}
			if err := writeOne(1000 + i); err != nil {
				return err
			}
			s, err := d.waitFor(2*time.Minute, func(s live.Status) bool {
				return s.Generation > before.Generation && s.State == live.StateReady
			})
			if err != nil {
				return err
			}
			r.Bytes = s.ImageSize
			cold, err := ddRead(ctx, d.image(), s.ImageSize)
			if err != nil {
				return err
			}
			warm, err := ddRead(ctx, d.image(), s.ImageSize)
			if err != nil {
				return err
			}
			if _, err := ddRead(ctx, builtImage, r.FileBytes); err != nil { // into the page cache
				return err
			}
			page, err := ddRead(ctx, builtImage, r.FileBytes)
			if err != nil {
				return err
			}
			r.LiveCold, r.LiveWarm, r.PageCache = append(r.LiveCold, cold), append(r.LiveWarm, warm), append(r.PageCache, page)
		}
		cfg.logf("%s: read MB/s live cold %.0f, live warm %.0f, page-cache file %.0f",
			c.Name, r.LiveCold.median()/1e6, r.LiveWarm.median()/1e6, r.PageCache.median()/1e6)
		s, _ := d.status()
		res.Entries, res.ChunksTotal, res.InitrdBytes = s.Entries, s.ChunksTotal, s.InitrdSize
		res.PeakRSS, err = procfs.StatusBytes(d.pid(), "VmHWM")
		return err
	}()
	if stopErr := d.stop(); err == nil {
		err = stopErr
	}
	if restoreErr := restore(); err == nil {
		err = restoreErr
	}
	if err != nil {
		return nil, err
	}

	// The second session: the same work, with the in-memory member cache
	// bounded; members beyond the bound are served from the disk store.
	cacheDir := filepath.Join(work, "mount-cache-limited")
	if err := os.RemoveAll(cacheDir); err != nil {
		return nil, err
	}
	d, err = cfg.liveiso.mount(c.Root, mnt, cacheDir, filepath.Join(work, "mount-limited.log"), "--cache-memory", cfg.cacheMemory)
	if err != nil {
		return nil, err
	}
	err = func() error {
		scratch := &editResult{}
		for i := 0; i < 3; i++ {
			p := filepath.Join(c.Root, t.File)
			if err := timeEdit(d, scratch, 0, func() error { return os.WriteFile(p, fmt.Appendf(nil, "limited %d\n%s", i, orig), 0o644) }); err != nil {
				return err
			}
		}
		s, _ := d.status()
		if _, err := ddRead(ctx, d.image(), s.ImageSize); err != nil {
			return err
		}
		res.LimitPeakRSS, err = procfs.StatusBytes(d.pid(), "VmHWM")
		return err
	}()
	if stopErr := d.stop(); err == nil {
		err = stopErr
	}
	if restoreErr := restore(); err == nil {
		err = restoreErr
	}
	cfg.logf("%s: peak RSS %d MiB, with --cache-memory %s %d MiB", c.Name, res.PeakRSS>>20, cfg.cacheMemory, res.LimitPeakRSS>>20)
	return res, err
}

// timeEdit waits for the daemon to be at rest, makes the edit, and records
// the time until status.json shows a newer generation ready whose archive
// has entriesDelta more entries than before, and how many builds the edit
// caused until the daemon was at rest again.
func timeEdit(d *daemon, r *editResult, entriesDelta int, edit func() error) error {
	return timeEditDelta(d, r, func() (int, error) { return entriesDelta, edit() })
}

// timeEditDelta is timeEdit for an edit that reports how many entries it
// added once it is done.
func timeEditDelta(d *daemon, r *editResult, edit func() (int, error)) error {
	before, err := d.settle(300 * time.Millisecond)
	if err != nil {
		return err
	}
	start := time.Now()
	entriesDelta, err := edit()
	if err != nil {
		return err
	}
	s, err := d.waitFor(2*time.Minute, func(s live.Status) bool {
		return s.Generation > before.Generation && s.State == live.StateReady && s.Entries == before.Entries+entriesDelta
	})
	if err != nil {
		return err
	}
	// The moment the daemon published it (see statusPoll).
	ready, err := time.Parse(time.RFC3339Nano, s.ReadyAt)
	if err != nil {
		return fmt.Errorf("status.json ready_at: %w", err)
	}
	r.Seconds = append(r.Seconds, ready.Sub(start).Seconds())
	r.BuildMs = append(r.BuildMs, float64(s.BuildMs))
	r.Rebuilt = append(r.Rebuilt, float64(s.ChunksRebuilt))
	after, err := d.settle(300 * time.Millisecond)
	if err != nil {
		return err
	}
	r.Published = append(r.Published, float64(after.Published-before.Published))
	r.Cancelled = append(r.Cancelled, float64(after.Cancelled-before.Cancelled))
	r.Started = append(r.Started, float64(after.Started-before.Started))
	return nil
}

func minInt(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxInt(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
