package httpserve

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/liveiso/liveiso/live"
)

// genFile is one file of a generation.
type genFile struct {
	contentType string
	bytes       func(*live.Snapshot) (io.ReaderAt, int64)
}

// genFiles are the files of a generation, by name: the names iPXE and
// QEMU's -kernel/-initrd users expect, and the mount's uki.efi. A file whose
// reader is nil (uki.efi without systemd-stub) is not there.
var genFiles = map[string]*genFile{
	"image.iso": {"application/x-iso9660-image", func(g *live.Snapshot) (io.ReaderAt, int64) { return g.Image, g.ImageSize }},
	"vmlinuz":   {"application/octet-stream", func(g *live.Snapshot) (io.ReaderAt, int64) { return g.Kernel, g.KernelSize }},
	"initrd.img": {"application/octet-stream", func(g *live.Snapshot) (io.ReaderAt, int64) {
		return g.Initrd, g.InitrdSize
	}},
	"uki.efi": {"application/efi", func(g *live.Snapshot) (io.ReaderAt, int64) { return g.UKI, g.UKISize }},
}

// noUKI is the 404 body for uki.efi of a generation without one.
func noUKI(n uint64) string {
	return fmt.Sprintf("generation %d has no unified kernel image (systemd-stub was not found when it was built)\n", n)
}

// immutable is the Cache-Control of a generation's file: it never changes,
// so a cache in front may serve it for a year without asking again.
const immutable = "public, max-age=31536000, immutable"

// serveGeneration answers /g/N-RUN/NAME: generation N's file, with ranges,
// HEAD and conditional requests (http.ServeContent), while it is kept.
func (s *Server) serveGeneration(w http.ResponseWriter, r *http.Request, rest string) {
	ref, name, _ := strings.Cut(rest, "/")
	f := genFiles[name]
	n, run, ok := parseGenRef(ref)
	if f == nil || !ok {
		httpError(w, http.StatusNotFound, "not found\n")
		return
	}
	cur := s.gens.Current()
	switch {
	case run != s.opts.Run:
		s.gone(w, cur, name, fmt.Sprintf("generation %d is from an earlier run of the daemon", n))
		return
	case cur == nil || n > cur.Generation:
		httpError(w, http.StatusNotFound, fmt.Sprintf("generation %d does not exist yet\n", n))
		return
	}
	g, release, ok := s.gens.Acquire(n)
	if !ok {
		s.gone(w, cur, name, fmt.Sprintf("generation %d is no longer kept", n))
		return
	}
	defer release()
	if s.clients.first(clientHost(r), n) {
		s.log.Info("client reads a generation", "client", clientHost(r), "generation", n, "file", name,
			"user_agent", r.UserAgent())
	}
	data, size := f.bytes(g)
	if data == nil {
		httpError(w, http.StatusNotFound, noUKI(n))
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", s.etag(n))
	h.Set("Cache-Control", immutable)
	http.ServeContent(bodyWriter{w, http.NewResponseController(w), s.stall}, withoutBadRange(r), "", g.Published, io.NewSectionReader(data, 0, size))
}

// etag is generation n's entity tag: strong (the bytes behind a URL never
// change) and different for every generation of every run, as its URLs are.
func (s *Server) etag(n uint64) string { return fmt.Sprintf(`"%s-%d"`, s.opts.Run, n) }

// gone answers 410 for a generation that cannot be read any more, naming
// the current one.
func (s *Server) gone(w http.ResponseWriter, cur *live.Snapshot, name, why string) {
	msg := why + "\n"
	if cur != nil {
		msg += fmt.Sprintf("the current generation is %d: %s\n", cur.Generation, s.genPath(cur.Generation, name))
	}
	httpError(w, http.StatusGone, msg)
}

// clientHost is the client's address without its port.
func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// bodyBytes is the size of one write of a generation's body: net/http's
// own copy size. Writes of 256 KiB were no faster (MEASUREMENTS.md).
const bodyBytes = 32 << 10

var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, bodyBytes); return &b }}

// bodyWriter is the ResponseWriter a generation's body goes through: it
// gives each write the stall timeout, so a client that stops reading lets go
// of its generation after that long, however long the whole download takes.
type bodyWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

var _ io.ReaderFrom = bodyWriter{}

func (w bodyWriter) ReadFrom(src io.Reader) (int64, error) {
	bp := bodyBuffers.Get().(*[]byte)
	defer bodyBuffers.Put(bp)
	var n int64
	for {
		k, rerr := io.ReadFull(src, *bp)
		if k > 0 {
			_ = w.rc.SetWriteDeadline(time.Now().Add(w.stall))
			wk, werr := w.ResponseWriter.Write((*bp)[:k])
			n += int64(wk)
			if werr != nil {
				return n, werr
			}
		}
		switch rerr {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return n, nil
		default:
			return n, rerr
		}
	}
}

// clientLog remembers which client has read which generation, so that the
// log has one line per client and generation rather than one per request
// (sanboot makes thousands). It forgets everything when full.
type clientLog struct {
	mu   sync.Mutex
	seen map[clientGen]bool
}

type clientGen struct {
	client     string
	generation uint64
}

const maxClientLog = 4096

// first reports whether this is the first request of client for n.
func (c *clientLog) first(client string, n uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := clientGen{client, n}
	if c.seen[k] {
		return false
	}
	if c.seen == nil || len(c.seen) >= maxClientLog {
		c.seen = make(map[clientGen]bool)
	}
	c.seen[k] = true
	return true
}
