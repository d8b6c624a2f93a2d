package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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

// Key names a member: the hash of everything its bytes depend on (the
// packer computes it). The store is addressed by it.
type Key [sha256.Size]byte

func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Member is a member as the store writes it.
type Member struct {
	Key Key
	// Compression is the packer's code for the member's compression: the
	// store records it in the header and Load compares it, never
	// interprets it.
	Compression uint32
	RawBytes    int64  // the uncompressed newc bytes it was made from
	Data        []byte // the member's bytes; nil when they are not in memory
}

// Info is what a store file's header says of its member.
type Info struct {
	SizeBytes int64 // the member's (compressed) bytes
	RawBytes  int64
}

// Options are a Store's settings.
type Options struct {
	LimitBytes   int64        // the size the directory is trimmed to; 0: the default (see limit)
	MaxOpenFiles int          // the bound of the open-file cache; 0: DefaultMaxOpenFiles
	Log          *slog.Logger // nil: discard
}

// Store is the persistent member store of one cache directory, as one
// process uses it: one file per member under
// dir/members/<first two hex digits of the key>/<key in hex>, content
// addressed, written whole before it gets its name, so a reader sees a
// whole file or none. A file that is truncated or corrupt (its checksums do
// not match) is deleted and reported as absent, so the member is rebuilt,
// never served.
//
// A store file is a header followed by the member's bytes (file.go).
// Members are read through a bounded cache of open files (openfiles.go);
// the members this process uses are pinned against trims by any process
// (pins.go); the directory is trimmed to a size (trim.go).
//
// The members a Pack in progress loads or saves are held until Publish
// (the Pack succeeded: the published members are pinned instead) or
// Abandon (it failed). A Store is safe for concurrent use.
type Store struct {
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
	pins    map[Key]int // references to each pinned member
	held    []Key       // pinned by the Pack in progress
	current []Key       // pinned as the latest initrd's members
	closing bool        // Close was called; finish when pins is empty
	done    bool
}

// DefaultMaxOpenFiles bounds the store files one Store keeps open. A
// member read after its file was let go of is opened again (through its
// pin link, see pins.go): one open(2) of a file in the page cache, small
// beside what the reader does with the bytes (decompress them, send them
// to a guest). Without the bound every stored member kept its fd for the
// life of the process (about 2,200 on a 200k-file tree, one more per
// edit).
const DefaultMaxOpenFiles = 128

// Open opens the store in cacheDir. It takes the store's process lock,
// removes the pins of processes that died, and sizes the store with a
// walk.
func Open(cacheDir string, opts Options) (*Store, error) {
	dir := filepath.Join(cacheDir, membersRoot)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	if opts.MaxOpenFiles <= 0 {
		opts.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	lock, id, err := takeProcessLock(cacheDir)
	if err != nil {
		return nil, err
	}
	s := &Store{root: cacheDir, dir: dir, id: id, pinDir: filepath.Join(cacheDir, pinRoot, id), lock: lock,
		files: newOpenFiles(opts.MaxOpenFiles), log: opts.Log, limitBytes: opts.LimitBytes, pins: map[Key]int{}}
	reapDead(cacheDir)
	u, err := Usage(cacheDir)
	if err != nil {
		s.closeLock()
		return nil, err
	}
	s.sizeBytes.Store(u.SizeBytes)
	return s, nil
}

// Path is the name of k's store file.
func (s *Store) Path(k Key) string {
	h := k.String()
	return filepath.Join(s.dir, h[:2], h)
}

// open opens the store file of k for reading: through this store's pin,
// which no trim removes, else by its store name.
func (s *Store) open(k Key) (*os.File, error) {
	f, err := os.Open(s.pinPath(k))
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.Open(s.Path(k))
	}
	if err != nil {
		return nil, fmt.Errorf("cache store: %w", err)
	}
	return f, nil
}

// ReadAt reads member k's bytes at off (past the header), through the
// store's open files; safe for concurrent use, and after Close.
func (s *Store) ReadAt(k Key, p []byte, off int64) (int, error) {
	return s.files.readAt(k, func() (*os.File, error) { return s.open(k) }, p, headerSize+off)
}

// Load finds the member stored under k in compression comp, verified and
// held for the Pack in progress; ok is false if there is none (a corrupt
// file is removed and counts as none). The member is then read with
// ReadAt: its bytes are read once here, to check them, and not kept, since
// a read from a file in the page cache is about as fast as one from memory
// and a warm build of a large tree would otherwise hold all of it.
func (s *Store) Load(k Key, comp uint32) (info Info, ok bool, err error) {
	ok, err = s.hold(k)
	if !ok || err != nil {
		return Info{}, false, err
	}
	name := s.pinPath(k)
	f, err := os.Open(name)
	if err == nil {
		if info, err = verifyFile(f, k, comp); err == nil {
			now := time.Now()
			os.Chtimes(name, now, now)
			s.files.add(k, f)
			s.mu.Lock()
			s.held = append(s.held, k)
			s.mu.Unlock()
			return info, true, nil
		}
		if errors.Is(err, errCorrupt) {
			// Removed from the store only if the store still names this
			// file: another process may have just stored a good one.
			if st, serr := os.Stat(s.Path(k)); serr == nil {
				if fi, ferr := f.Stat(); ferr == nil && os.SameFile(st, fi) {
					os.Remove(s.Path(k))
				}
			}
			err = nil
		}
		f.Close()
	}
	s.unhold(k)
	if err != nil {
		return Info{}, false, fmt.Errorf("cache store %s: %w", name, err)
	}
	return Info{}, false, nil
}

// Save writes m (its Data in memory) to the store and holds it for the
// Pack in progress.
func (s *Store) Save(m Member) error {
	if err := s.write(m); err != nil {
		return err
	}
	s.mu.Lock()
	s.held = append(s.held, m.Key)
	s.mu.Unlock()
	if s.sizeBytes.Add(headerSize+int64(len(m.Data))) > s.trimAbove() {
		s.trimLater()
	}
	return nil
}

// write writes m's store file as this store's pin of it (a temporary file
// renamed to pins/ID/KEY) and counts one reference to the pin, then links
// the file into the store under a temporary name renamed over the store's
// name: the file is pinned before a trimmer can see it, and replacing a
// corrupt file is atomic.
func (s *Store) write(m Member) error {
	h := header{
		comp:       m.Compression,
		payloadLen: uint64(len(m.Data)),
		rawLen:     uint64(m.RawBytes),
		key:        m.Key,
		payloadCRC: crc32.Checksum(m.Data, castagnoli),
	}
	name := s.Path(m.Key)
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return fmt.Errorf("cache store: %w", err)
	}
	tmp, err := os.CreateTemp(s.pinDir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("cache store: %w", err)
	}
	_, err = io.Copy(tmp, io.MultiReader(bytes.NewReader(h.encode()), bytes.NewReader(m.Data)))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// With the count, under the lock: an unhold of the same key
		// meanwhile would remove the pin just written.
		s.mu.Lock()
		if err = os.Rename(tmp.Name(), s.pinPath(m.Key)); err == nil {
			s.pins[m.Key]++
		}
		s.mu.Unlock()
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cache store %s: %w", tmp.Name(), err)
	}
	link := filepath.Join(filepath.Dir(name), tmpPrefix+s.id+"-"+m.Key.String())
	os.Remove(link) // left by a failed write
	err = os.Link(s.pinPath(m.Key), link)
	if err == nil {
		err = os.Rename(link, name)
	}
	if err != nil {
		os.Remove(link)
		s.unhold(m.Key)
		return fmt.Errorf("cache store %s: %w", name, err)
	}
	return nil
}

// Spill reports whether member k, whose bytes are data, can be read with
// ReadAt from now on instead of from memory: this store pins it (a member
// nobody pins could lose its file to a trim) and the file holds exactly
// data. The file is then kept open for the reads.
func (s *Store) Spill(k Key, data []byte) bool {
	if !s.pinned(k) {
		return false
	}
	f, err := os.Open(s.pinPath(k))
	if err != nil {
		return false
	}
	h, err := checkedHeader(f, k)
	if err == nil && h.payloadLen != uint64(len(data)) {
		err = errCorrupt
	}
	if err == nil {
		err = sameBytes(f, data)
	}
	if err != nil {
		f.Close()
		return false
	}
	s.files.add(k, f)
	return true
}

// Publish makes ms the latest initrd's members, of initrdBytes bytes: they
// are pinned, and the members of the one before and those the Pack loaded
// or wrote are let go of.
func (s *Store) Publish(ms []Member, initrdBytes int64) {
	keys := s.Retain(ms)
	s.mu.Lock()
	old, held := s.current, s.held
	s.current, s.held = keys, nil
	s.mu.Unlock()
	s.Release(old)
	s.Release(held)
	s.initrdBytes.Store(initrdBytes)
	if s.sizeBytes.Load() > s.trimAbove() {
		s.trimLater()
	}
}

// Abandon lets go of the members a failed Pack loaded or wrote.
func (s *Store) Abandon() {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	s.Release(held)
}

// Close lets go of the latest initrd's members. Once no Retain holds any
// either, the store trims the directory to its limit, removes its pins and
// its lock file and closes its open files; ReadAt after that opens the
// file by its store name each time.
func (s *Store) Close() {
	s.trims.Wait()
	s.Abandon()
	s.mu.Lock()
	cur := s.current
	s.current = nil
	s.closing = true
	empty := len(s.pins) == 0
	s.mu.Unlock()
	if len(cur) > 0 {
		s.Release(cur) // the last unhold finishes
	} else if empty {
		s.finish()
	}
}

// finish is the end of Close, once nothing is pinned. A trim here, with a
// full walk, keeps the bound across processes whose running estimates do
// not see each other's writes.
func (s *Store) finish() {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return
	}
	s.done = true
	s.mu.Unlock()
	os.RemoveAll(s.pinDir)
	if _, err := Trim(s.root, s.limit()); err != nil {
		s.log.Warn("cache not trimmed", "dir", s.root, "err", err)
	}
	s.closeLock()
	s.files.close()
}

func (s *Store) closeLock() {
	os.Remove(filepath.Join(s.root, procRoot, s.id+lockSuffix))
	s.lock.Close()
}
