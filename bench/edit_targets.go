package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// editTargets are the places of a tree the edit-to-ready measurements touch:
// a small file to rewrite, the directory to add files to, and directories
// to rm -rf (subtrees without hard links, so that cp -a restores them
// exactly).
type editTargets struct {
	File    string   // rootfs-relative
	AddDir  string   // rootfs-relative
	RemoveD []string // rootfs-relative, disjoint, not holding File or AddDir
	Removed []int    // entries under each RemoveD, the directory included
}

func findEditTargets(root string, removals int) (*editTargets, error) {
	type dirStat struct {
		entries  int
		hardlink bool
	}
	stats := map[string]*dirStat{}
	var smallFiles []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		hard := false
		if d.IsDir() {
			stats[rel] = &dirStat{}
		} else if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			hard = nlink(fi) > 1
			if !hard && fi.Size() >= 64 && fi.Size() <= 4096 && strings.Count(rel, "/") >= 2 {
				smallFiles = append(smallFiles, rel)
			}
		}
		for a := rel; ; {
			if s := stats[a]; s != nil {
				s.entries++
				s.hardlink = s.hardlink || hard
			}
			i := strings.LastIndexByte(a, '/')
			if i < 0 {
				break
			}
			a = a[:i]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(smallFiles) == 0 {
		return nil, fmt.Errorf("%s: no small file to edit", root)
	}
	t := &editTargets{File: smallFiles[len(smallFiles)/2]}
	t.AddDir = filepath.Dir(t.File)
	var cands []string
	for p, s := range stats {
		if strings.Count(p, "/") >= 1 && s.entries >= 20 && s.entries <= 400 && !s.hardlink &&
			!within(t.File, p) && !within(t.AddDir, p) {
			cands = append(cands, p)
		}
	}
	sort.Strings(cands)
	// Evenly spread picks: the first candidate from each k/removals of the
	// sorted list on that overlaps none taken before.
	for k := 0; k < removals; k++ {
		for i := k * len(cands) / removals; i < len(cands); i++ {
			p := cands[i]
			overlap := false
			for _, q := range t.RemoveD {
				if within(p, q) || within(q, p) {
					overlap = true
				}
			}
			if !overlap {
				t.RemoveD = append(t.RemoveD, p)
				t.Removed = append(t.Removed, stats[p].entries)
				break
			}
		}
	}
	if len(t.RemoveD) < removals {
		return nil, fmt.Errorf("%s: found only %d directories to remove", root, len(t.RemoveD))
	}
	return t, nil
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}
