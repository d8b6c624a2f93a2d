package cache

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// store is the persistent member store: one file per member under
// dir/members/<first two hex digits of the key>/<key in hex>, content
// addressed, written whole before it gets its name, so a reader sees a
// whole file or none. A file that is truncated or corrupt (its checksums do
// not match) is deleted and reported as absent, so the member is rebuilt,
// never served.
//
// A store file is a storeHeader followed by the member's bytes
// (storefile.go). Members are read through a bounded cache of open files
// (openfiles.go); the members this process uses are pinned against trims by
// any process (pins.go); the directory is trimmed to a size (trim.go).
type store struct {
	root   string // the cache directory
	dir    string // the members directory
	id     string // this store's name in procs/ and pins/
	pinDir string
	lock   *os.File // procs/ID.lock, flocked
	files  *openFiles
	log    *slog.Logger

	limitBytes  int64        // the size to trim to; 0: the default (limit)
	initrdBytes atomic.Int64 // size of the latest initrd, for the default limit
	sizeBytes   atomic.Int64 // running estimate of the store's size
	// trimFloor is what the last trim could not go below (pinned
	// members): the next trim waits until the store has grown a tenth of
	// the limit past it, rather than walking the store on every write.
	trimFloor atomic.Int64
	trimming  atomic.Bool
	trims     sync.WaitGroup

	mu      sync.Mutex
	pins    map[memberKey]int // references to each pinned member
	held    []memberKey       // pinned by the Pack in progress
	current []memberKey       // pinned as the latest initrd's members
	closing bool              // close was called; finish when pins is empty
	done    bool
}

// openStore opens the store in cacheDir, to be trimmed to limitBytes (0:
// the default). It takes the store's process lock, removes the pins of
// processes that died, and sizes the store with a walk.
func openStore(cacheDir string, limitBytes int64, log *slog.Logger) (*store, error) {
	dir := filepath.Join(cacheDir, "members")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	lock, id, err := takeProcessLock(cacheDir)
	if err != nil {
		return nil, err
	}
	s := &store{root: cacheDir, dir: dir, id: id, pinDir: filepath.Join(cacheDir, pinRoot, id), lock: lock,
		files: newOpenFiles(maxOpenFiles), log: log, limitBytes: limitBytes, pins: map[memberKey]int{}}
	reapDead(cacheDir)
	u, err := Usage(cacheDir)
	if err != nil {
		s.closeLock()
		return nil, err
	}
	s.sizeBytes.Store(u.SizeBytes)
	return s, nil
}

func (s *store) path(k memberKey) string {
	h := k.String()
	return filepath.Join(s.dir, h[:2], h)
}

// open opens the store file of k for reading: through this store's pin,
// which no trim removes, else by its store name.
func (s *store) open(k memberKey) (*os.File, error) {
	f, err := os.Open(s.pinPath(k))
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.Open(s.path(k))
	}
	if err != nil {
		return nil, fmt.Errorf("cache store: %w", err)
	}
	return f, nil
}

// readAt reads member k's bytes at off (past the header).
func (s *store) readAt(k memberKey, p []byte, off int64) (int, error) {
	return s.files.readAt(k, func() (*os.File, error) { return s.open(k) }, p, storeHeaderSize+off)
}

// load returns the member stored under k, verified and pinned for the Pack
// in progress, or nil if there is none (a corrupt file is removed and
// counts as none). The member reads through the store's open files: its
// bytes are read once here, to check them, and not kept, since a read from
// a file in the page cache is about as fast as one from memory and a warm
// build of a large tree would otherwise hold all of it.
func (s *store) load(k memberKey, comp Compression) (*member, error) {
	ok, err := s.hold(k)
	if !ok || err != nil {
		return nil, err
	}
	name := s.pinPath(k)
	f, err := os.Open(name)
	if err == nil {
		var m *member
		if m, err = verifyStoreFile(f, k, comp); err == nil {
			now := time.Now()
			os.Chtimes(name, now, now)
			s.files.add(k, f)
			m.backing.Store(&backing{st: s})
			s.mu.Lock()
			s.held = append(s.held, k)
			s.mu.Unlock()
			return m, nil
		}
		if errors.Is(err, errCorrupt) {
			// Removed from the store only if the store still names this
			// file: another process may have just stored a good one.
			if st, serr := os.Stat(s.path(k)); serr == nil {
				if fi, ferr := f.Stat(); ferr == nil && os.SameFile(st, fi) {
					os.Remove(s.path(k))
				}
			}
			err = nil
		}
		f.Close()
	}
	s.unhold(k)
	if err != nil {
		return nil, fmt.Errorf("cache store %s: %w", name, err)
	}
	return nil, nil
}

// save writes m (held in memory) to the store and pins it for the Pack in
// progress.
func (s *store) save(m *member) error {
	if err := s.write(m); err != nil {
		return err
	}
	s.mu.Lock()
	s.held = append(s.held, m.key)
	s.mu.Unlock()
	if s.sizeBytes.Add(storeHeaderSize+m.sizeBytes) > s.trimAbove() {
		s.trimLater()
	}
	return nil
}

// write writes m's store file as this store's pin of it (a temporary file
// renamed to pins/ID/KEY) and counts one reference to the pin, then links
// the file into the store under a temporary name renamed over the store's
// name: the file is pinned before a trimmer can see it, and replacing a
// corrupt file is atomic.
func (s *store) write(m *member) error {
	data := m.inMemory()
	h := storeHeader{
		comp:       compressionCode(m.comp),
		payloadLen: uint64(len(data)),
		rawLen:     uint64(m.rawBytes),
		key:        m.key,
		payloadCRC: crc32.Checksum(data, castagnoli),
	}
	name := s.path(m.key)
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return fmt.Errorf("cache store: %w", err)
	}
	tmp, err := os.CreateTemp(s.pinDir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("cache store: %w", err)
	}
	_, err = io.Copy(tmp, io.MultiReader(bytes.NewReader(h.encode()), bytes.NewReader(data)))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// With the count, under the lock: an unhold of the same key
		// meanwhile would remove the pin just written.
		s.mu.Lock()
		if err = os.Rename(tmp.Name(), s.pinPath(m.key)); err == nil {
			s.pins[m.key]++
		}
		s.mu.Unlock()
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cache store %s: %w", tmp.Name(), err)
	}
	link := filepath.Join(filepath.Dir(name), ".tmp-"+s.id+"-"+m.key.String())
	os.Remove(link) // left by a failed write
	err = os.Link(s.pinPath(m.key), link)
	if err == nil {
		err = os.Rename(link, name)
	}
	if err != nil {
		os.Remove(link)
		s.unhold(m.key)
		return fmt.Errorf("cache store %s: %w", name, err)
	}
	return nil
}

// spill switches m from memory to its store file, if this store pins it
// (a member nobody pins could lose its file to a trim) and the file holds
// exactly m's bytes. It reports whether it did.
func (s *store) spill(m *member) bool {
	if !s.pinned(m.key) {
		return false
	}
	f, err := os.Open(s.pinPath(m.key))
	if err != nil {
		return false
	}
	h, err := checkedHeader(f, m.key)
	if err == nil && int64(h.payloadLen) != m.sizeBytes {
		err = errCorrupt
	}
	if err == nil {
		err = sameBytes(f, m.inMemory())
	}
	if err != nil {
		f.Close()
		return false
	}
	s.files.add(m.key, f)
	m.backing.Store(&backing{st: s})
	return true
}

// publish makes ms the latest initrd's members, of initrdBytes bytes: they
// are pinned, and the members of the one before and those the Pack loaded
// or wrote are let go of. It returns the keys it pinned, for Retain.
func (s *store) publish(ms []*member, initrdBytes int64) {
	keys := s.retain(ms)
	s.mu.Lock()
	old, held := s.current, s.held
	s.current, s.held = keys, nil
	s.mu.Unlock()
	s.release(old)
	s.release(held)
	s.initrdBytes.Store(initrdBytes)
	if s.sizeBytes.Load() > s.trimAbove() {
		s.trimLater()
	}
}

// abandon lets go of the members a failed Pack loaded or wrote.
func (s *store) abandon() {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	s.release(held)
}

// close lets go of the latest initrd's members. Once no Pin holds any
// either, the store trims the directory to its limit, removes its pins and
// its lock file and closes its open files; Initrds read after that open
// their files by store name each time.
func (s *store) close() {
	s.trims.Wait()
	s.abandon()
	s.mu.Lock()
	cur := s.current
	s.current = nil
	s.closing = true
	empty := len(s.pins) == 0
	s.mu.Unlock()
	if len(cur) > 0 {
		s.release(cur) // the last unhold finishes
	} else if empty {
		s.finish()
	}
}

// finish is the end of close, once nothing is pinned. A trim here, with a
// full walk, keeps the bound across processes whose running estimates do
// not see each other's writes.
func (s *store) finish() {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return
	}
	s.done = true
	s.mu.Unlock()
	os.RemoveAll(s.pinDir)
	if _, err := trim(s.root, s.limit()); err != nil {
		s.log.Warn("cache not trimmed", "dir", s.root, "err", err)
	}
	s.closeLock()
	s.files.close()
}

func (s *store) closeLock() {
	os.Remove(filepath.Join(s.root, procRoot, s.id+lockSuffix))
	s.lock.Close()
}
