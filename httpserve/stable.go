package httpserve

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/liveiso/liveiso/live"
)

// Stable URLs: /image.iso and /uki.efi answer 200 with the current
// generation, for firmware HTTP Boot (edk2's HttpBootDxe follows no
// redirect). The firmware asks for the size first (HEAD, or a GET it
// abandons), makes its buffer (for an ISO, a RAM disk) that size, then
// GETs the body into it: the size must not change between the two across
// an edit. As the FUSE mount does, each file has a capacity, its content
// followed by zeros, that stays while generations fit in it and grows
// (and the log says so) when one does not.
//
// Each request reads one generation from its first byte to its last.
// Requests of ranges may each read another generation; the ETag names the
// generation, so a client that sends If-Range gets the whole file rather
// than a range of a newer one.

// stableTypes are the stable files and their Content-Type: edk2 decides
// how to boot what it downloaded from these (else from the name).
var stableTypes = map[string]string{
	"image.iso": "application/vnd.efi-iso",
	"uki.efi":   "application/efi",
}

// capacity is a stable file's size: its content's and the headroom's.
type capacity struct{ bytes atomic.Int64 }

const (
	// minHeadroomBytes and headroomShift choose the capacity for content
	// of size bytes: size plus an eighth, at least 4 MiB, in whole MiB.
	// Less than the mount's (256 MiB at least): firmware downloads the
	// whole file into memory, zeros included, on every boot, and the
	// size need only hold from its first request to its second.
	minHeadroomBytes = 4 << 20
	headroomShift    = 3
	mib              = 1 << 20
)

func headroomFor(size int64) int64 {
	c := size + max(size>>headroomShift, minHeadroomBytes)
	return (c + mib - 1) / mib * mib
}

// fit returns the capacity for content of size bytes: the current one if
// it fits, else a new one (grown reports that it changed).
func (c *capacity) fit(size int64) (capBytes int64, grown bool) {
	for {
		cur := c.bytes.Load()
		if size <= cur {
			return cur, false
		}
		next := headroomFor(size)
		if c.bytes.CompareAndSwap(cur, next) {
			return next, cur != 0
		}
	}
}

// zeroTail reads data (size bytes) and zeros after it.
type zeroTail struct {
	data io.ReaderAt
	size int64
}

func (z zeroTail) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < z.size {
		k, err := z.data.ReadAt(p[:min(int64(len(p)), z.size-off)], off)
		n = k
		if err != nil && err != io.EOF {
			return n, err
		}
		if n < len(p) && off+int64(n) < z.size {
			return n, io.ErrUnexpectedEOF
		}
	}
	clear(p[n:])
	return len(p), nil
}

// acquireCurrent holds the current generation for one request.
func (s *Server) acquireCurrent() (*live.Snapshot, func(), bool) {
	for range 8 { // a publication may drop the one just read; try the next
		g := s.gens.Current()
		if g == nil {
			return nil, nil, false
		}
		if g2, release, ok := s.gens.Acquire(g.Generation); ok {
			return g2, release, true
		}
	}
	return nil, nil, false
}

// serveStable answers /image.iso and /uki.efi with the current generation.
func (s *Server) serveStable(w http.ResponseWriter, r *http.Request, name string) {
	g, release, ok := s.acquireCurrent()
	if !ok {
		noGeneration(w)
		return
	}
	defer release()
	tagGeneration(w, g.Generation)
	data, size := genFiles[name].bytes(g)
	if data == nil {
		httpError(w, http.StatusNotFound, noUKI(g.Generation))
		return
	}
	capBytes, grown := s.capacities[name].fit(size)
	if grown {
		s.log.Warn("HTTP: the file outgrew its capacity; its size grows, and a client that asked for the size before must ask again",
			"file", name, "generation", g.Generation, "size", size, "capacity", capBytes)
	}
	if r.Method == http.MethodGet && r.Header.Get("Range") == "" {
		s.fleet.saw(clientOf(r, name, g.Generation, time.Now()))
	}
	h := w.Header()
	h.Set("Content-Type", stableTypes[name])
	// The bytes differ with the generation and the capacity; a cache
	// revalidates every time.
	h.Set("ETag", fmt.Sprintf(`"%s-%d-%d"`, s.opts.Run, g.Generation, capBytes))
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(bodyWriter{w, http.NewResponseController(w), s.stall}, withoutBadRange(r), "", g.Published,
		io.NewSectionReader(zeroTail{data, size}, 0, capBytes))
}
