package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Kinds of burst: many files written by one command, to be published as
// few generations.
const (
	burstStream = "2,000 files streamed over 1 s"
	burstDpkg   = "dpkg -i of 2,000 files"
	burstGit    = "git checkout"
)

// The apt-like bursts: aptFiles files in aptPackages directories. The stream
// writes them over aptSpan, each as NAME.dpkg-new renamed into place, at an
// even pace, the way dpkg streams a package's files out of its archive; the
// dpkg burst has dpkg itself install a package of them.
const (
	aptFiles    = 2000
	aptPackages = 20
	aptSpan     = time.Second
)

// The git checkout burst switches a work tree between two commits: tree a
// has gitDirs directories of gitPerDir files; tree b rewrites the first half
// of them, drops the other half and adds gitNewDirs new directories.
const (
	gitDirs    = 20
	gitNewDirs = 15
	gitPerDir  = 100
)

// burstContent is a file of 1-4 KiB of text, different for every (i, j, tag).
func burstContent(tag string, i, j int) []byte {
	line := fmt.Sprintf("%s file %d of %d\n", tag, j, i)
	return []byte(strings.Repeat(line, (1024+(j%4)*1024)/len(line)))
}

// aptEntries is how many entries the stream adds: its files, its package
// directories and the directory holding them.
const aptEntries = aptFiles + aptPackages + 1

// aptStream writes the stream below dir.
func aptStream(dir string) error {
	start := time.Now()
	step := aptSpan / aptFiles
	perPkg := aptFiles / aptPackages
	for k := 0; k < aptFiles; k++ {
		pkg := filepath.Join(dir, fmt.Sprintf("pkg%02d", k/perPkg))
		if k%perPkg == 0 {
			if err := os.MkdirAll(pkg, 0o755); err != nil {
				return err
			}
		}
		name := filepath.Join(pkg, fmt.Sprintf("file%03d", k%perPkg))
		if err := os.WriteFile(name+".dpkg-new", burstContent("apt", k/perPkg, k%perPkg), 0o644); err != nil {
			return err
		}
		if err := os.Rename(name+".dpkg-new", name); err != nil {
			return err
		}
		time.Sleep(time.Until(start.Add(time.Duration(k+1) * step)))
	}
	return nil
}

// dpkgPackage builds a .deb of the apt-like files in work and returns its path.
func dpkgPackage(work string) (string, error) {
	pkg := filepath.Join(work, "bench-deb")
	if err := os.RemoveAll(pkg); err != nil {
		return "", err
	}
	control := "Package: bench-burst\nVersion: 1.0\nArchitecture: all\nMaintainer: bench <bench@localhost>\nDescription: liveiso bench burst\n files for the dpkg burst\n"
	if err := os.MkdirAll(filepath.Join(pkg, "DEBIAN"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(pkg, "DEBIAN/control"), []byte(control), 0o644); err != nil {
		return "", err
	}
	perPkg := aptFiles / aptPackages
	for i := 0; i < aptPackages; i++ {
		dir := filepath.Join(pkg, "usr/share/bench-burst", fmt.Sprintf("pkg%02d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		for j := 0; j < perPkg; j++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%03d", j)), burstContent("dpkg", i, j), 0o644); err != nil {
				return "", err
			}
		}
	}
	deb := filepath.Join(work, "bench-burst.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", pkg, deb).CombinedOutput(); err != nil {
		return "", fmt.Errorf("dpkg-deb --build: %w\n%s", err, out)
	}
	return deb, os.RemoveAll(pkg)
}

// dpkgRoot makes an empty dpkg database below root, for dpkg --root.
func dpkgRoot(root string) error {
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
}

// countEntries counts dir and everything below it.
func countEntries(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(string, os.DirEntry, error) error { n++; return nil })
	return n, err
}

// gitTree is a work tree below the rootfs whose repository lives outside
// it, so that a checkout changes the rootfs only by the files it writes.
type gitTree struct {
	work, gitDir string
}

func (g gitTree) run(args ...string) error {
	full := append([]string{"--git-dir=" + g.gitDir, "--work-tree=" + g.work,
		"-c", "user.name=bench", "-c", "user.email=bench@localhost"}, args...)
	if out, err := exec.Command("git", full...).CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// gitEntriesDelta is how many more entries tree b has than tree a.
const gitEntriesDelta = (gitDirs/2 + gitNewDirs + (gitDirs/2+gitNewDirs)*gitPerDir) - (gitDirs + gitDirs*gitPerDir)

// setUp commits trees a and b and leaves a checked out.
func (g gitTree) setUp() error {
	writeDir := func(dir, tag string, i int) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for j := 0; j < gitPerDir; j++ {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d", j)), burstContent(tag, i, j), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; i < gitDirs; i++ {
		if err := writeDir(filepath.Join(g.work, fmt.Sprintf("d%02d", i)), "a", i); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "a"}, {"add", "-A"}, {"commit", "-q", "-m", "a"}, {"checkout", "-q", "-b", "b"}} {
		if err := g.run(args...); err != nil {
			return err
		}
	}
	for i := 0; i < gitDirs; i++ {
		d := filepath.Join(g.work, fmt.Sprintf("d%02d", i))
		var err error
		if i < gitDirs/2 {
			err = writeDir(d, "b", i)
		} else {
			err = os.RemoveAll(d)
		}
		if err != nil {
			return err
		}
	}
	for i := 0; i < gitNewDirs; i++ {
		if err := writeDir(filepath.Join(g.work, fmt.Sprintf("n%02d", i)), "b", i); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "b"}, {"checkout", "-q", "a"}} {
		if err := g.run(args...); err != nil {
			return err
		}
	}
	return nil
}

// measureBursts times the bursts, edits times each, below addDir of the
// tree at root; work holds the .deb and the git repository. It leaves the
// tree as it found it. dpkg and git bursts are measured when the tools are
// installed.
func measureBursts(d *daemon, root, addDir, work string, edits int) ([]*editResult, error) {
	stream := &editResult{Kind: burstStream, Detail: fmt.Sprintf("%d files in %d new directories of %s over %v, each written as NAME.dpkg-new and renamed", aptFiles, aptPackages, addDir, aptSpan)}
	res := []*editResult{stream}
	for i := 0; i < edits; i++ {
		dir := filepath.Join(root, addDir, fmt.Sprintf("bench-stream-%d", i))
		err := timeEdit(d, stream, aptEntries, func() error { return aptStream(dir) })
		if rmErr := os.RemoveAll(dir); err == nil {
			err = rmErr
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", stream.Kind, err)
		}
	}

	if _, err := exec.LookPath("dpkg"); err == nil {
		deb, err := dpkgPackage(work)
		if err != nil {
			return res, err
		}
		dpkg := &editResult{Kind: burstDpkg, Detail: fmt.Sprintf("`dpkg --root=DIR --force-all -i` of a package of %d files in %d directories, DIR a fresh dpkg root in %s", aptFiles, aptPackages, addDir)}
		res = append(res, dpkg)
		for i := 0; i < edits; i++ {
			dir := filepath.Join(root, addDir, fmt.Sprintf("bench-dpkg-%d", i))
			err := dpkgRoot(dir)
			var n0 int
			if err == nil {
				n0, err = countEntries(dir)
			}
			if err == nil {
				err = timeEditDelta(d, dpkg, func() (int, error) {
					if out, err := exec.Command("dpkg", "--root="+dir, "--force-all", "-i", deb).CombinedOutput(); err != nil {
						return 0, fmt.Errorf("dpkg -i: %w\n%s", err, out)
					}
					n, err := countEntries(dir)
					return n - n0, err
				})
			}
			if rmErr := os.RemoveAll(dir); err == nil {
				err = rmErr
			}
			if err != nil {
				return res, fmt.Errorf("%s: %w", dpkg.Kind, err)
			}
		}
	}

	if _, err := exec.LookPath("git"); err != nil {
		return res, nil // the report says the git burst was not measured
	}
	git := &editResult{Kind: burstGit, Detail: fmt.Sprintf("between a tree of %d files in %d directories and one that rewrites half of them, removes the rest and adds %d files in %d directories (%s)",
		gitDirs*gitPerDir, gitDirs, gitNewDirs*gitPerDir, gitNewDirs, addDir)}
	res = append(res, git)
	g := gitTree{work: filepath.Join(root, addDir, "bench-git"), gitDir: filepath.Join(work, "bench-git.git")}
	defer os.RemoveAll(g.gitDir)
	defer os.RemoveAll(g.work)
	if err := g.setUp(); err != nil {
		return res, err
	}
	for i := 0; i < edits; i++ {
		branch, delta := "b", gitEntriesDelta
		if i%2 == 1 {
			branch, delta = "a", -gitEntriesDelta
		}
		if err := timeEdit(d, git, delta, func() error { return g.run("checkout", "-q", branch) }); err != nil {
			return res, fmt.Errorf("%s: %w", git.Kind, err)
		}
	}
	return res, nil
}
