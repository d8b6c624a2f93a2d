package squashroot

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// spool is an append-only file of compressed data blocks, unlinked when it
// is made. Bytes once written are never written again, which is what lets
// an Image refer to them for as long as it lives. Space of files that
// changed is not reclaimed while the Builder lives.
type spool struct {
	f    *os.File
	mu   sync.Mutex
	size int64
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "liveiso-squashfs-spool-*")
	if err != nil {
		return nil, fmt.Errorf("squashfs spool: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("squashfs spool: %w", err)
	}
	return &spool{f: f}, nil
}

// append writes p at the end and returns where it went.
func (s *spool) append(p []byte) (int64, error) {
	s.mu.Lock()
	off := s.size
	s.size += int64(len(p))
	s.mu.Unlock()
	if _, err := s.f.WriteAt(p, off); err != nil {
		return 0, fmt.Errorf("squashfs spool: %w", err)
	}
	return off, nil
}

// bytesUsed is the spool's size.
func (s *spool) bytesUsed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// section is spool bytes [off, off+n) as a source of an extent.
func (s *spool) section(off, n int64) io.ReaderAt { return io.NewSectionReader(s.f, off, n) }

func (s *spool) close() error { return s.f.Close() }
