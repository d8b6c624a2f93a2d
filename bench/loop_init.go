package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"

	"github.com/liveiso/liveiso/internal/testenv"
)

// The Debian tree made ready for the loop: its /init (loopInit) and the
// marker an edit changes.

// installLoopInit gives the tree loopInit and an /etc/marker, and returns
// what puts the tree back as it was.
func installLoopInit(root string) (func() error, error) {
	var restores []func() error
	restore := func() error {
		var errs []error
		for i := len(restores) - 1; i >= 0; i-- {
			errs = append(errs, restores[i]())
		}
		return errors.Join(errs...)
	}
	for _, f := range []struct {
		rel  string
		data string
		mode os.FileMode
	}{{"init", loopInit, 0o755}, {"etc/marker", "loop start\n", 0o644}} {
		p := filepath.Join(root, f.rel)
		old, err := os.ReadFile(p)
		switch {
		case err == nil:
			fi, err := os.Lstat(p)
			if err != nil {
				return nil, errors.Join(err, restore())
			}
			restores = append(restores, func() error { return os.WriteFile(p, old, fi.Mode().Perm()) })
		case errors.Is(err, os.ErrNotExist):
			restores = append(restores, func() error { return os.Remove(p) })
		default:
			return nil, errors.Join(err, restore())
		}
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			return nil, errors.Join(err, restore())
		}
	}
	return restore, nil
}

// writeMarker replaces /etc/marker in one rename, as an editor does.
func writeMarker(rootfs, marker string) error {
	p := filepath.Join(rootfs, "etc/marker")
	if err := os.WriteFile(p+".tmp", []byte(marker+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

func markerLine(marker string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.QuoteMeta(testenv.MarkerPrefix+marker) + "$")
}
