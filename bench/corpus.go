package main

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// corpus is a root file system the benchmarks run on, cached in the bench
// directory and made only when missing.
type corpus struct {
	Name    string // as the tables show it: "synthetic-10k", "debian-minbase"
	Root    string // the tree
	Entries int    // files, directories and links below Root (counted after making it)
	Bytes   int64  // bytes of regular files (a hard-linked file counted once)
	Huge    int    // files of 8-40 MiB (synthetic trees)
}

// Shape of a synthetic tree. A Debian minbase tree has about 10k entries
// whose median file is about 2 KB, with a long tail of megabyte libraries;
// the generator follows that: most files small, a few large, a handful of
// tens of MB.
const (
	filesPerDir     = 15   // average files per directory
	maxDepth        = 8    // directories nest at most this deep
	textFraction    = 0.7  // of regular files: compressible text; the rest random bytes
	symlinkFraction = 0.03 // extra entries that are symlinks
	hardlinkFrac    = 0.01 // extra entries that are hard links to a file elsewhere
	hugeFileEvery   = 50000
)

// syntheticCorpus returns the synthetic tree of about files entries for seed,
// generating it under dir when it is not there yet.
func syntheticCorpus(dir string, files int, seed uint64) (*corpus, error) {
	name := fmt.Sprintf("synthetic-%s", countLabel(files))
	root := filepath.Join(dir, fmt.Sprintf("%s-seed%d", name, seed))
	if _, err := os.Stat(root); err != nil {
		tmp := root + ".tmp"
		if err := os.RemoveAll(tmp); err != nil {
			return nil, err
		}
		start := time.Now()
		fmt.Fprintf(os.Stderr, "bench: generating %s in %s\n", name, root)
		if err := generateTree(tmp, files, seed); err != nil {
			return nil, fmt.Errorf("generate %s: %w", name, err)
		}
		if err := os.Rename(tmp, root); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "bench: generated %s in %.1f s\n", name, time.Since(start).Seconds())
	}
	c, err := countCorpus(name, root)
	if err != nil {
		return nil, err
	}
	c.Huge = hugeFiles(files)
	return c, nil
}

func hugeFiles(files int) int { return 2 + files/hugeFileEvery }

// generateTree writes a deterministic tree: the same files, seed and
// generator make the same names, contents, links and mtimes.
func generateTree(root string, files int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, uint64(files)))
	words := vocabulary(rng, 4000)
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	// Directories: each new one goes under a random earlier one that is not
	// yet at maxDepth, so the tree is bushy near the root and deep in places.
	type dirInfo struct {
		path  string
		depth int
	}
	dirs := []dirInfo{{".", 0}}
	for _, top := range []string{"bin", "etc", "lib", "usr", "usr/lib", "usr/share", "var", "opt"} {
		dirs = append(dirs, dirInfo{top, strings.Count(top, "/") + 1})
	}
	for len(dirs) < files/filesPerDir {
		parent := dirs[rng.IntN(len(dirs))]
		if parent.depth >= maxDepth {
			continue
		}
		dirs = append(dirs, dirInfo{
			path:  filepath.Join(parent.path, fmt.Sprintf("%s-%d", words[rng.IntN(len(words))], len(dirs))),
			depth: parent.depth + 1,
		})
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d.path), 0o755); err != nil {
			return err
		}
	}

	var regular []string
	buf := make([]byte, 0, 1<<20)
	nHuge := hugeFiles(files)
	for i := 0; i < files-len(dirs); i++ {
		d := dirs[rng.IntN(len(dirs))].path
		size := fileSize(rng)
		if i < nHuge {
			size = (8 + rng.Int64N(33)) << 20 // 8..40 MiB: an initrd of its own, a big library
		}
		text := rng.Float64() < textFraction
		ext := ".bin"
		if text {
			ext = ".txt"
		}
		rel := filepath.Join(d, fmt.Sprintf("%s-%d%s", words[rng.IntN(len(words))], i, ext))
		mode := os.FileMode(0o644)
		if !text && rng.IntN(4) == 0 {
			mode = 0o755
		}
		if err := writeGenerated(filepath.Join(root, rel), mode, size, text, rng, words, buf); err != nil {
			return err
		}
		regular = append(regular, rel)
	}
	for i := 0; i < int(float64(files)*symlinkFraction); i++ {
		d := dirs[rng.IntN(len(dirs))].path
		var target string
		switch rng.IntN(3) {
		case 0: // absolute, as /etc/alternatives links are: dangling on the host
			target = "/" + regular[rng.IntN(len(regular))]
		default: // relative, to a file of the tree
			t := regular[rng.IntN(len(regular))]
			rel, err := filepath.Rel(d, t)
			if err != nil {
				return err
			}
			target = rel
		}
		if err := os.Symlink(target, filepath.Join(root, d, fmt.Sprintf("link-%d", i))); err != nil {
			return err
		}
	}
	for i := 0; i < int(float64(files)*hardlinkFrac); i++ {
		d := dirs[rng.IntN(len(dirs))].path
		src := regular[rng.IntN(len(regular))]
		if err := os.Link(filepath.Join(root, src), filepath.Join(root, d, fmt.Sprintf("hardlink-%d", i))); err != nil {
			return err
		}
	}
	// Fixed mtimes, so that the tree's stat data does not depend on when it
	// was made; directories last, since adding entries changes them.
	for i, rel := range regular {
		t := epoch.Add(time.Duration(i) * time.Second)
		if err := os.Chtimes(filepath.Join(root, rel), t, t); err != nil {
			return err
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chtimes(filepath.Join(root, dirs[i].path), epoch, epoch); err != nil {
			return err
		}
	}
	return nil
}

// fileSize draws a regular file's size: 10% empty, 65% up to 4 KiB, 24% up
// to 32 KiB, 1% up to 1 MiB, each log-uniform within its range.
func fileSize(rng *rand.Rand) int64 {
	logUniform := func(lo, hi float64) int64 {
		return int64(lo * math.Pow(hi/lo, rng.Float64()))
	}
	switch p := rng.Float64(); {
	case p < 0.10:
		return 0
	case p < 0.75:
		return logUniform(1, 4<<10)
	case p < 0.99:
		return logUniform(4<<10, 32<<10)
	default:
		return logUniform(32<<10, 1<<20)
	}
}

// writeGenerated writes size bytes: words and line breaks (text, which gzip
// shrinks about 3x) or random bytes (incompressible).
func writeGenerated(path string, mode os.FileMode, size int64, text bool, rng *rand.Rand, words []string, buf []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for left := size; left > 0; {
		buf = buf[:0]
		n := min(left, int64(cap(buf)))
		if text {
			for int64(len(buf)) < n {
				buf = append(buf, words[rng.IntN(len(words))]...)
				if rng.IntN(12) == 0 {
					buf = append(buf, '\n')
				} else {
					buf = append(buf, ' ')
				}
			}
			buf = buf[:n]
		} else {
			buf = buf[:n]
			for i := 0; i+8 <= len(buf); i += 8 {
				v := rng.Uint64()
				for j := range 8 {
					buf[i+j] = byte(v >> (8 * j))
				}
			}
			for i := len(buf) &^ 7; i < len(buf); i++ {
				buf[i] = byte(rng.Uint32())
			}
		}
		if _, err := w.Write(buf); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// vocabulary makes n pseudo-words of 2 to 12 letters, with a few very
// common ones, as natural text has.
func vocabulary(rng *rand.Rand, n int) []string {
	const letters = "etaoinshrdlcumwfgypbvkjxqz"
	words := make([]string, n)
	for i := range words {
		l := 2 + rng.IntN(11)
		b := make([]byte, l)
		for j := range b {
			// Skewed towards the frequent letters.
			b[j] = letters[min(rng.IntN(len(letters)), rng.IntN(len(letters)))]
		}
		words[i] = string(b)
	}
	return words
}

// countCorpus counts a tree's entries and bytes.
func countCorpus(name, root string) (*corpus, error) {
	c := &corpus{Name: name, Root: root}
	seen := map[uint64]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		c.Entries++
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if ino := inode(fi); ino != 0 && nlink(fi) > 1 {
				if seen[ino] {
					return nil
				}
				seen[ino] = true
			}
			c.Bytes += fi.Size()
		}
		return nil
	})
	return c, err
}

func countLabel(n int) string {
	if n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
