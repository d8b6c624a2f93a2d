package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/liveiso/liveiso/rootfs"
	"github.com/liveiso/liveiso/squashfs"
	"github.com/liveiso/liveiso/squashroot"
)

// squashfsResult compares liveiso's squashfs (package squashroot, in this
// process) with mksquashfs at the same compressor and level on one tree.
type squashfsResult struct {
	Corpus     *corpus
	Comp       string
	Level      int
	ColdS      samples // scan + Build with a new Builder
	MksquashS  samples // mksquashfs, all cores, fragments as by default
	Size       int64
	MkSize     int64
	MkNoFrag   int64   // mksquashfs -no-fragments: the cost of fragments alone
	EditMs     samples // one file changed: Rescan + Build
	PlanMs     samples // of which regenerating the metadata
	Metadata   int64   // inode, directory and id tables, bytes
	EditedPath string
}

// measureSquashfs measures one tree at one compressor and level.
func measureSquashfs(ctx context.Context, cfg *config, c *corpus, comp squashfs.Compression, level int) (*squashfsResult, error) {
	r := &squashfsResult{Corpus: c, Comp: string(comp), Level: level}
	work := filepath.Join(cfg.dir, "work", "squashfs-"+c.Name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	opts := squashroot.Options{Compression: comp, Level: level, SpoolDir: work}
	var b *squashroot.Builder
	var tree *rootfs.Tree
	var img *squashroot.Image
	for range cfg.runs {
		if b != nil {
			b.Close()
		}
		var err error
		if b, err = squashroot.NewBuilder(opts, nil); err != nil {
			return nil, err
		}
		s, err := timeIt(func() error {
			if tree, err = rootfs.Scan(ctx, c.Root, rootfs.Options{}); err != nil {
				return err
			}
			img, err = b.Build(ctx, tree)
			return err
		})
		if err != nil {
			return nil, err
		}
		r.ColdS = append(r.ColdS, s)
	}
	defer b.Close()
	r.Size, r.Metadata = img.Size(), img.Stats().MetadataBytes
	out := filepath.Join(work, "mk.squashfs")
	mk := func(extra ...string) error {
		args := []string{c.Root, out, "-noappend", "-quiet", "-no-progress", "-processors", strconv.Itoa(runtime.NumCPU()), "-comp", string(comp)}
		if comp == squashfs.None {
			args = append(args[:len(args)-2], "-noI", "-noD", "-noF", "-noX")
		} else {
			args = append(args, "-Xcompression-level", strconv.Itoa(level))
		}
		cmd := exec.CommandContext(ctx, "mksquashfs", append(args, extra...)...)
		if o, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("mksquashfs: %v: %s", err, o)
		}
		return nil
	}
	for range cfg.runs {
		s, err := timeIt(func() error { return mk() })
		if err != nil {
			return nil, err
		}
		r.MksquashS = append(r.MksquashS, s)
	}
	r.MkSize = sizeOf(out)
	if err := mk("-no-fragments"); err != nil {
		return nil, err
	}
	r.MkNoFrag = sizeOf(out)

	// One-file edits: a text file of a few KiB gets a line, then loses it.
	var edited *rootfs.Entry
	for i := range tree.Entries() {
		e := &tree.Entries()[i]
		if e.Mode&0o170000 == 0o100000 && e.Size > 4096 && e.Size < 64<<10 && e.Nlink == 1 {
			edited = e
			break
		}
	}
	if edited == nil {
		return nil, fmt.Errorf("%s: no file to edit", c.Name)
	}
	r.EditedPath = edited.Path
	path := filepath.Join(c.Root, edited.Path)
	orig, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer os.WriteFile(path, orig, 0o644)
	for i := range cfg.readyEdits {
		content := append([]byte(nil), orig...)
		if i%2 == 0 {
			content = append(content, fmt.Sprintf("edit %d\n", i)...)
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return nil, err
		}
		var next *squashroot.Image
		s, err := timeIt(func() error {
			t, err := rootfs.Rescan(ctx, tree, []string{edited.Path}, rootfs.Options{})
			if err != nil {
				return err
			}
			if next, err = b.Build(ctx, t); err != nil {
				return err
			}
			tree = t
			return nil
		})
		if err != nil {
			return nil, err
		}
		if st := next.Stats(); st.FilesCompressed != 1 {
			return nil, fmt.Errorf("%s: an edit of one file compressed %d", c.Name, st.FilesCompressed)
		}
		r.EditMs = append(r.EditMs, s*1000)
		r.PlanMs = append(r.PlanMs, next.Stats().PlanMs)
	}
	return r, nil
}

func renderSquashfs(p func(string, ...any), rs []*squashfsResult) {
	p("| tree | compression | liveiso cold build s | mksquashfs s | ratio | liveiso MB | mksquashfs MB | ratio | mksquashfs -no-fragments MB | one-file edit ms (median, min-max) | of which metadata ms | metadata MB |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		p("| %s (%d entries, %.0f MB) | %s %d | %.2f | %.2f | %.2f | %.1f | %.1f | %.3f | %.1f | %.1f (%.1f-%.1f) | %.1f | %.2f |\n",
			r.Corpus.Name, r.Corpus.Entries, float64(r.Corpus.Bytes)/1e6, r.Comp, r.Level,
			r.ColdS.median(), r.MksquashS.median(), r.ColdS.median()/r.MksquashS.median(),
			float64(r.Size)/1e6, float64(r.MkSize)/1e6, float64(r.Size)/float64(r.MkSize), float64(r.MkNoFrag)/1e6,
			r.EditMs.median(), r.EditMs.min(), r.EditMs.max(), r.PlanMs.median(), float64(r.Metadata)/1e6)
	}
}

// squashfsOnly measures every corpus at gzip 9 and zstd 3 and prints the table.
func squashfsOnly(ctx context.Context, cfg *config, corpora []*corpus) error {
	var rs []*squashfsResult
	for _, c := range corpora {
		if err := warmPageCache(ctx, c.Root); err != nil {
			return err
		}
		for _, cl := range []struct {
			comp  squashfs.Compression
			level int
		}{{squashfs.Gzip, 9}, {squashfs.Zstd, 3}, {squashfs.None, 0}} {
			cfg.logf("squashfs: %s %s %d", c.Name, cl.comp, cl.level)
			r, err := measureSquashfs(ctx, cfg, c, cl.comp, cl.level)
			if err != nil {
				return err
			}
			rs = append(rs, r)
		}
	}
	renderSquashfs(func(f string, a ...any) { fmt.Printf(f, a...) }, rs)
	return nil
}
