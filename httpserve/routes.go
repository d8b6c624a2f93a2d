package httpserve

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The routes. Nothing else exists: any other path, and any path spelled
// with a percent escape, is 404, so there is no way to name a file outside
// these (and no encoded form of these to confuse a cache in front).
const (
	indexPath   = "/"
	statusPath  = "/status.json"
	bootPath    = "/boot.ipxe"
	sanbootPath = "/sanboot.ipxe"
	genPrefix   = "/g/" // + N-RUN/ + a name in genFiles
)

// runTokenBytes is the size of the run token: 32 bits, so that two runs of
// one daemon behind one cache collide once in four billion restarts.
const runTokenBytes = 4

// ServeHTTP answers the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every response gets stallTimeout to be written; a generation's body
	// extends it at each write (bodyWriter).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.stall))
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "only GET and HEAD\n")
		return
	}
	if closesAfter(r) {
		w.Header().Set("Connection", "close")
	}
	p := r.URL.Path
	if strings.Contains(r.URL.EscapedPath(), "%") {
		httpError(w, http.StatusNotFound, "not found\n")
		return
	}
	switch {
	case p == indexPath:
		s.serveIndex(w, r)
	case p == statusPath:
		s.serveStatus(w, r)
	case p == bootPath:
		s.serveScript(w, r, bootScript)
	case p == sanbootPath:
		s.serveScript(w, r, sanbootScript)
	case genFiles[strings.TrimPrefix(p, "/")] != nil:
		s.redirect(w, r, strings.TrimPrefix(p, "/"))
	case strings.HasPrefix(p, genPrefix):
		s.serveGeneration(w, r, strings.TrimPrefix(p, genPrefix))
	default:
		httpError(w, http.StatusNotFound, "not found\n")
	}
}

// closesAfter reports whether the connection of r is closed after its
// response: iPXE's, but for range requests (sanboot reads the image in
// ranges over one connection). iPXE hands the machine to what it fetched
// and never closes its connection; after a reset the new iPXE may open one
// from the same port (its port numbers come from a generator seeded by the
// firmware's clock), and QEMU's user-mode network, which still holds the
// old connection to us, then never completes the new one (MEASUREMENTS.md,
// httpserve). A closed connection leaves nothing behind.
func closesAfter(r *http.Request) bool {
	return strings.HasPrefix(r.UserAgent(), "iPXE/") && r.Header.Get("Range") == ""
}

// genPath is the URL path of a generation's file in this run.
func (s *Server) genPath(n uint64, name string) string {
	return fmt.Sprintf("%s%d-%s/%s", genPrefix, n, s.opts.Run, name)
}

// parseGenRef reads "N-RUN" (N in decimal without leading zeros, so that a
// generation has one URL per file).
func parseGenRef(ref string) (n uint64, run string, ok bool) {
	num, run, found := strings.Cut(ref, "-")
	if !found || !validRun(run) {
		return 0, "", false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != num {
		return 0, "", false
	}
	return n, run, true
}

func validRun(run string) bool {
	if len(run) != 2*runTokenBytes {
		return false
	}
	for _, c := range run {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// redirect sends a plain name to the current generation's URL of it.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, name string) {
	g := s.gens.Current()
	if g == nil {
		noGeneration(w)
		return
	}
	if data, _ := genFiles[name].bytes(g); data == nil {
		httpError(w, http.StatusNotFound, noUKI(g.Generation))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.genPath(g.Generation, name), http.StatusFound)
}

// httpError answers with a short plain-text body that no cache keeps.
func httpError(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprint(w, body)
}

func noGeneration(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	httpError(w, http.StatusServiceUnavailable, "no generation is ready yet\n")
}
