package store

import (
	"container/list"
	"io"
	"os"
	"sync"
)

// openFiles is a least-recently-used cache of open store files, keyed by
// member. A file in use by a read is closed only when the read is done.
// Once closed, every read opens and closes its file.
type openFiles struct {
	mu     sync.Mutex
	limit  int
	ll     *list.List // front: most recently used; values *openFile
	index  map[Key]*list.Element
	closed bool
}

// openFile is one cached file. users counts the reads using f; dropped is
// set when the cache lets go of it, and the last user closes it.
type openFile struct {
	key     Key
	f       *os.File
	users   int
	dropped bool
}

func newOpenFiles(limit int) *openFiles {
	return &openFiles{limit: limit, ll: list.New(), index: map[Key]*list.Element{}}
}

// readAt reads from the store file of k at off, opening it with open when
// the cache does not hold it.
func (c *openFiles) readAt(k Key, open func() (*os.File, error), p []byte, off int64) (int, error) {
	of, err := c.acquire(k, open)
	if err != nil {
		return 0, err
	}
	n, err := of.f.ReadAt(p, off)
	if err == io.EOF && n == len(p) {
		err = nil
	}
	c.release(of)
	return n, err
}

// acquire returns the cached file of k, or opens and caches it.
func (c *openFiles) acquire(k Key, open func() (*os.File, error)) (*openFile, error) {
	c.mu.Lock()
	if el, ok := c.index[k]; ok {
		c.ll.MoveToFront(el)
		of := el.Value.(*openFile)
		of.users++
		c.mu.Unlock()
		return of, nil
	}
	c.mu.Unlock()
	// Opened outside the lock: reads of other members go on meanwhile.
	f, err := open()
	if err != nil {
		return nil, err
	}
	return c.insert(k, f, 1), nil
}

// add caches f, a freshly opened store file of k, for later reads.
func (c *openFiles) add(k Key, f *os.File) {
	c.insert(k, f, 0)
}

// insert caches f as k's file with users already counted, or, if another
// read got there first, closes f and returns the cached one. Files beyond
// the limit are closed outside the lock.
func (c *openFiles) insert(k Key, f *os.File, users int) *openFile {
	var toClose []*os.File
	c.mu.Lock()
	var of *openFile
	switch el, ok := c.index[k]; {
	case ok:
		toClose = append(toClose, f)
		c.ll.MoveToFront(el)
		of = el.Value.(*openFile)
		of.users += users
	case c.closed:
		of = &openFile{key: k, f: f, users: users, dropped: true}
	default:
		of = &openFile{key: k, f: f, users: users}
		c.index[k] = c.ll.PushFront(of)
		for c.ll.Len() > c.limit {
			toClose = append(toClose, c.drop(c.ll.Back())...)
		}
	}
	c.mu.Unlock()
	if users == 0 && of.dropped && of.f == f {
		toClose = append(toClose, f)
	}
	for _, f := range toClose {
		f.Close()
	}
	return of
}

// drop removes el from the cache and returns its file if no read uses it
// (the last user closes it otherwise). c.mu is held.
func (c *openFiles) drop(el *list.Element) []*os.File {
	of := el.Value.(*openFile)
	c.ll.Remove(el)
	delete(c.index, of.key)
	of.dropped = true
	if of.users == 0 {
		return []*os.File{of.f}
	}
	return nil
}

// forget lets go of k's file, if cached (closed once no read uses it).
func (c *openFiles) forget(k Key) {
	c.mu.Lock()
	var toClose []*os.File
	if el, ok := c.index[k]; ok {
		toClose = c.drop(el)
	}
	c.mu.Unlock()
	for _, f := range toClose {
		f.Close()
	}
}

func (c *openFiles) release(of *openFile) {
	c.mu.Lock()
	of.users--
	last := of.users == 0 && of.dropped
	c.mu.Unlock()
	if last {
		of.f.Close()
	}
}

// close closes every cached file not in use, and those in use when their
// reads end; later reads open their file each time.
func (c *openFiles) close() {
	c.mu.Lock()
	var toClose []*os.File
	for c.ll.Len() > 0 {
		toClose = append(toClose, c.drop(c.ll.Back())...)
	}
	c.closed = true
	c.mu.Unlock()
	for _, f := range toClose {
		f.Close()
	}
}

// len returns how many files are cached (tests).
func (c *openFiles) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// IsOpen reports whether the open-file cache holds k's file.
func (s *Store) IsOpen(k Key) bool {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	_, ok := s.files.index[k]
	return ok
}

// CloseFiles closes the files of the open-file cache (those in use when
// their reads end); every later read opens its file and closes it again.
func (s *Store) CloseFiles() { s.files.close() }
