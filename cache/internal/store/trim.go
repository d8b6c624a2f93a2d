package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Trimming a cache directory to a size: least recently used store files
// (oldest mtime, see pins.go) go first, and a file some live process pins
// (link count above 1) never goes. A Store keeps a running
// estimate of the directory's size (a walk when it opens, plus what it
// writes) and trims in the background when the estimate passes its limit,
// and once more, with a fresh walk, when it closes. `liveiso cache` calls
// Usage and Trim.

// tmpPrefix starts the names of files being written (Store.write) and of
// lock files being taken (takeProcessLock).
const tmpPrefix = ".tmp-"

// staleTmpAge is how old a temporary file must be before a trim removes
// it: one of this version has a link count of 2 while it is in use, but a
// writer of an older version writes its store files in place as
// temporaries with one link.
const staleTmpAge = time.Hour

// DiskUsage is what a cache directory holds.
type DiskUsage struct {
	Members       int   // store files
	SizeBytes     int64 // their bytes
	PinnedMembers int   // store files pinned by a process (a live one, or a dead one not yet cleaned up)
	PinnedBytes   int64
	Processes     int // live processes using the directory
}

// TrimResult says what a Trim did.
type TrimResult struct {
	Removed      int // store files removed
	RemovedBytes int64
	Reaped       int // dead processes whose pins were removed
	After        DiskUsage
}

// storeFile is one file of a walk of the members directory.
type storeFile struct {
	path      string
	sizeBytes int64
	mtime     time.Time
	links     uint64
}

// Usage walks the cache directory dir and reports what it holds. It
// changes nothing.
func Usage(dir string) (DiskUsage, error) {
	files, err := walkStore(dir, false)
	if err != nil {
		return DiskUsage{}, err
	}
	u := usageOf(files)
	u.Processes = liveProcesses(dir)
	return u, nil
}

// Trim removes the pins of dead processes from the cache directory dir,
// then store files nobody pins, least recently used first, until the
// store holds limitBytes or less (or only pinned files are left).
func Trim(dir string, limitBytes int64) (TrimResult, error) {
	var res TrimResult
	res.Reaped = reapDead(dir)
	files, err := walkStore(dir, true)
	if err != nil {
		return res, err
	}
	u := usageOf(files)
	var unpinned []storeFile
	for _, f := range files {
		if f.links == 1 {
			unpinned = append(unpinned, f)
		}
	}
	slices.SortFunc(unpinned, func(a, b storeFile) int { return a.mtime.Compare(b.mtime) })
	for _, f := range unpinned {
		if u.SizeBytes <= limitBytes {
			break
		}
		// Looked at again just before: a process may have pinned it since
		// the walk. (One that pins it between this look and the remove
		// keeps its pin; only the store name goes.)
		if fi, err := os.Lstat(f.path); err != nil || links(fi) != 1 {
			continue
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("trim %s: %w", f.path, err)
		}
		u.Members--
		u.SizeBytes -= f.sizeBytes
		res.Removed++
		res.RemovedBytes += f.sizeBytes
	}
	u.Processes = liveProcesses(dir)
	res.After = u
	return res, nil
}

func usageOf(files []storeFile) DiskUsage {
	var u DiskUsage
	for _, f := range files {
		u.Members++
		u.SizeBytes += f.sizeBytes
		if f.links > 1 {
			u.PinnedMembers++
			u.PinnedBytes += f.sizeBytes
		}
	}
	return u
}

// walkStore lists the store files of the cache directory dir (a missing
// one holds none). With clean, it removes stale temporary files.
func walkStore(dir string, clean bool) ([]storeFile, error) {
	members := filepath.Join(dir, membersRoot)
	subs, err := os.ReadDir(members)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	var files []storeFile
	for _, sub := range subs {
		if !sub.IsDir() {
			continue
		}
		subDir := filepath.Join(members, sub.Name())
		ents, err := os.ReadDir(subDir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("cache %s: %w", subDir, err)
		}
		for _, e := range ents {
			p := filepath.Join(subDir, e.Name())
			fi, err := os.Lstat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue // removed meanwhile, or not ours
			}
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				if clean && links(fi) == 1 && time.Since(fi.ModTime()) > staleTmpAge {
					os.Remove(p)
				}
				continue
			}
			files = append(files, storeFile{path: p, sizeBytes: fi.Size(), mtime: fi.ModTime(), links: links(fi)})
		}
	}
	return files, nil
}

func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// reapDead removes the pins and lock files of processes that are gone
// from the cache directory dir and returns how many it found. A process
// is gone when its lock can be taken; its pins directory is made only
// after its lock file is in place and the lock file is removed only after
// the pins, so a pins directory without a lock file is a dead process's.
func reapDead(dir string) int {
	n := 0
	pins, _ := os.ReadDir(filepath.Join(dir, pinRoot))
	for _, e := range pins {
		if reap(dir, e.Name()) {
			n++
		}
	}
	procs, _ := os.ReadDir(filepath.Join(dir, procRoot))
	for _, e := range procs {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, lockSuffix) && !strings.HasPrefix(name, tmpPrefix):
			reap(dir, strings.TrimSuffix(name, lockSuffix))
		case strings.HasPrefix(name, tmpPrefix):
			// A lock being taken, or left by a process that died taking it.
			p := filepath.Join(dir, procRoot, name)
			if fi, err := os.Lstat(p); err == nil && time.Since(fi.ModTime()) > time.Minute {
				if f := tryLock(p); f != nil {
					os.Remove(p)
					f.Close()
				}
			}
		}
	}
	return n
}

// reap removes the pins and lock file of process id if it is dead, and
// reports whether it did.
func reap(dir, id string) bool {
	lockPath := filepath.Join(dir, procRoot, id+lockSuffix)
	f := tryLock(lockPath)
	if f == nil {
		if _, err := os.Lstat(lockPath); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return false // alive, or unknown
		}
	}
	os.RemoveAll(filepath.Join(dir, pinRoot, id))
	if f != nil {
		os.Remove(lockPath)
		f.Close()
	}
	return true
}

// tryLock returns the lock file at p, flocked, if no process holds it.
func tryLock(p string) *os.File {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil
	}
	return f
}

// liveProcesses counts the processes holding a lock in the cache
// directory dir.
func liveProcesses(dir string) int {
	procs, _ := os.ReadDir(filepath.Join(dir, procRoot))
	n := 0
	for _, e := range procs {
		name := e.Name()
		if !strings.HasSuffix(name, lockSuffix) || strings.HasPrefix(name, tmpPrefix) {
			continue
		}
		if f := tryLock(filepath.Join(dir, procRoot, name)); f != nil {
			f.Close()
		} else {
			n++
		}
	}
	return n
}

// DefaultLimitBytes is the least a Store is trimmed to by default; the
// default is four times the latest initrd when that is more.
const DefaultLimitBytes = 2 << 30

// limit is the size the store is trimmed to.
func (s *Store) limit() int64 {
	if s.limitBytes > 0 {
		return s.limitBytes
	}
	return max(DefaultLimitBytes, 4*s.initrdBytes.Load())
}

// trimAbove is the estimated size past which the store trims.
func (s *Store) trimAbove() int64 {
	limit := s.limit()
	return max(limit, s.trimFloor.Load()+limit/10)
}

// trimLater trims the store in the background, one trim at a time, down to
// nine tenths of the limit, so that the next trim is a tenth of the limit
// of writes away.
func (s *Store) trimLater() {
	if !s.trimming.CompareAndSwap(false, true) {
		return
	}
	s.trims.Add(1)
	go func() {
		defer s.trims.Done()
		defer s.trimming.Store(false)
		// Again while the store is still over the limit (written to during
		// the walk) and the last round could remove something.
		for round := 0; round < 3; round++ {
			before := s.sizeBytes.Load()
			limit := s.limit()
			res, err := Trim(s.root, limit-limit/10)
			if err != nil {
				s.log.Warn("cache not trimmed", "dir", s.root, "err", err)
				return
			}
			size := s.sizeBytes.Add(res.After.SizeBytes - before)
			s.trimFloor.Store(res.After.SizeBytes)
			level := slog.LevelInfo
			if res.Removed == 0 {
				level = slog.LevelDebug
			}
			s.log.Log(context.Background(), level, "trimmed cache", "dir", s.root, "removed", res.Removed,
				"removed_bytes", res.RemovedBytes, "size", res.After.SizeBytes, "limit", limit)
			if size <= s.trimAbove() || res.Removed == 0 {
				return
			}
		}
	}()
}

// WaitTrims waits for the background trim in progress, if any.
func (s *Store) WaitTrims() { s.trims.Wait() }
