package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Sharing one cache directory between processes.
//
// Several daemons and builds may use one cache directory (the default one
// is shared), and any of them may trim it (trim.go) while the others read
// members from it. On Linux a file stays readable through an fd that is
// already open after it is unlinked, so a trim only breaks a process that
// opens a member's file again by name, which the bounded cache of open
// files (openfiles.go) does all the time. So a process protects the
// members it uses from every trimmer, itself included, with hard links:
//
//   - Each store takes a lock file, procs/ID.lock, and holds an exclusive
//     flock on it for its life. The lock is taken on a temporary name and
//     only then renamed into place, so a trimmer never finds a lock file
//     that is not locked by a live process.
//   - A member a live initrd references (the last Pack's members, those of
//     every Retain, and those a Pack in progress has loaded or written) has a
//     hard link pins/ID/KEY, and the store reads it through that name,
//     which no other process removes while ID is alive.
//   - A trimmer removes only store files whose link count is 1 (nobody
//     pins them), and removes pins/ID of a process whose lock it can take:
//     one that died, SIGKILL included, since the kernel drops the flock.
//
// A member is written into pins/ID first and linked into the store after,
// so it is pinned from the moment it has a name a trimmer can see. A
// member is pinned by link(2) from its store name before it is opened, so
// a trim racing with a load either removes the file first (the link fails:
// a miss, the chunk is compressed again) or finds it pinned. The one race
// left, a trimmer that saw the link count 1 just before the link, removes
// only the store name: the pin keeps the file for its process, and the
// next process to want it misses and rebuilds it.
//
// Recency is the store file's mtime, set when a member is loaded and when
// it is unpinned (used until then): atime is not kept on relatime and
// noatime mounts, and an access log would be one more file to repair
// after a crash. Pinned members are not trimmed, so their mtime need not be
// current while they are pinned.

// membersRoot is the directory of the store files; pinRoot and procRoot
// are the directories, beside it, where stores keep their pins and lock
// files.
const (
	membersRoot = "members"
	pinRoot     = "pins"
	procRoot    = "procs"
)

// lockSuffix ends the name of a process lock file in procRoot.
const lockSuffix = ".lock"

// takeProcessLock creates procs/ID.lock for a new store, flocked, and its
// pins directory. It returns the lock file (held until the store is done)
// and ID.
func takeProcessLock(cacheDir string) (*os.File, string, error) {
	procs := filepath.Join(cacheDir, procRoot)
	if err := os.MkdirAll(procs, 0o700); err != nil {
		return nil, "", fmt.Errorf("cache directory: %w", err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	id := strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(rnd[:])
	f, err := os.CreateTemp(procs, tmpPrefix+"*")
	if err != nil {
		return nil, "", fmt.Errorf("cache lock: %w", err)
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(procs, id+lockSuffix))
	}
	if err == nil {
		err = os.MkdirAll(filepath.Join(cacheDir, pinRoot, id), 0o700)
	}
	if err != nil {
		os.Remove(f.Name())
		f.Close()
		return nil, "", fmt.Errorf("cache lock %s: %w", f.Name(), err)
	}
	return f, id, nil
}

// pinPath is where this store pins member k.
func (s *Store) pinPath(k Key) string {
	return filepath.Join(s.pinDir, k.String())
}

// hold adds one reference to member k's pin, linking the pin from the
// store file on the first one. It reports false, holding nothing, if the
// store has no file for k.
func (s *Store) hold(k Key) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pins[k] > 0 {
		s.pins[k]++
		return true, nil
	}
	err := os.Link(s.Path(k), s.pinPath(k))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case errors.Is(err, fs.ErrExist):
		// A pin file this store does not count (left by a failed
		// write): the store file is the one to use.
		if err = os.Remove(s.pinPath(k)); err == nil {
			err = os.Link(s.Path(k), s.pinPath(k))
		}
	}
	if err != nil {
		return false, fmt.Errorf("cache pin %s: %w", k, err)
	}
	s.pins[k] = 1
	return true, nil
}

// pinned reports whether this store holds a pin on k.
func (s *Store) pinned(k Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pins[k] > 0
}

// unhold drops one reference to k's pin; the last one touches the file's
// mtime (it was in use until now), removes the pin and closes the file if
// it is open: nothing live reads it any more, and an open fd would keep
// its blocks on disk after a trim removes it, outside --cache-size.
func (s *Store) unhold(k Key) {
	s.mu.Lock()
	n := s.pins[k] - 1
	if n > 0 {
		s.pins[k] = n
		s.mu.Unlock()
		return
	}
	delete(s.pins, k)
	// Under the lock: a hold of k meanwhile would find the pin it is
	// about to lose.
	now := time.Now()
	os.Chtimes(s.pinPath(k), now, now)
	os.Remove(s.pinPath(k))
	done := s.closing && len(s.pins) == 0
	s.mu.Unlock()
	s.files.forget(k)
	if done {
		s.finish()
	}
}

// Retain pins ms for whoever asks (a Pack's result, a Pin of an older
// initrd) until Release of the keys it returns: no trim, by this process
// or another on the same cache directory, removes them. A member without
// a store file whose Data is in memory (the store lost its file to a
// trim, or it was never written) is written again first; one that cannot
// be pinned is left out, with a warning.
func (s *Store) Retain(ms []Member) []Key {
	keys := make([]Key, 0, len(ms))
	for _, m := range ms {
		ok, err := s.hold(m.Key)
		if !ok && err == nil && m.Data != nil {
			err = s.write(m)
			ok = err == nil
		}
		if err != nil {
			s.log.Warn("cache member not pinned", "key", m.Key.String(), "err", err)
		}
		if ok {
			keys = append(keys, m.Key)
		}
	}
	return keys
}

// Release drops one reference of each of keys (from Retain).
func (s *Store) Release(keys []Key) {
	for _, k := range keys {
		s.unhold(k)
	}
}
