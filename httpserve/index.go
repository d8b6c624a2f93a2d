package httpserve

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/liveiso/liveiso/live"
)

// fleetPath is the page's data, which the page polls to update itself.
const fleetPath = "/fleet.json"

// pollMs is how often the page asks for fleetPath.
const pollMs = 1000

// fleetView is what the page shows, and fleetPath's JSON. Nothing in it
// comes from the rootfs (no file names, no build error text, which names
// files): numbers, times, and the clients' fields, which the page escapes.
type fleetView struct {
	State   string    `json:"state"` // building, ready, error
	Now     time.Time `json:"now"`
	Current *genView  `json:"current"` // nil before the first generation
	Kept    []genView `json:"kept"`    // newest first, the current one included
	Clients []Client  `json:"clients"` // most recently seen first
	// BuildsFailed counts failed builds; the page says to look at the log
	// or status.json for why.
	BuildsFailed int `json:"builds_failed"`
}

type genView struct {
	Number        uint64    `json:"number"`
	Published     time.Time `json:"published"`
	BuildMs       int64     `json:"build_ms"`
	ChunksRebuilt int       `json:"chunks_rebuilt"`
	Chunks        int       `json:"chunks"` // the initrd's members
	ImageBytes    int64     `json:"image_bytes"`
	InitrdBytes   int64     `json:"initrd_bytes"`
}

func viewOf(g *live.Snapshot) genView {
	return genView{Number: g.Generation, Published: g.Published, BuildMs: g.Status.BuildMs, ChunksRebuilt: g.Status.ChunksRebuilt,
		Chunks: g.Status.ChunksTotal, ImageBytes: g.ImageSize, InitrdBytes: g.InitrdSize}
}

// view gathers the page's data.
func (s *Server) view() fleetView {
	st := s.statusCounts()
	v := fleetView{State: st.State, Now: time.Now().UTC(), Clients: s.fleet.list(), BuildsFailed: st.Failed}
	if v.State == "" {
		v.State = "unknown"
	}
	if g := s.gens.Current(); g != nil {
		cv := viewOf(g)
		v.Current = &cv
	}
	for _, g := range s.chunks.indexed() {
		if _, release, ok := s.gens.Acquire(g.Number); ok { // kept (or being read)
			release()
			v.Kept = append(v.Kept, g)
		}
	}
	if v.Clients == nil {
		v.Clients = []Client{}
	}
	return v
}

// serveFleet answers fleetPath.
func (s *Server) serveFleet(w http.ResponseWriter, r *http.Request) {
	b, err := json.Marshal(s.view())
	if err != nil {
		httpError(w, http.StatusInternalServerError, "fleet: "+err.Error()+"\n")
		return
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

// pageData is the template's input.
type pageData struct {
	fleetView
	Base          string
	PollMs        int
	FleetPath     string
	Image, Kernel string // the current generation's URLs
	HasUKI        bool
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	d := pageData{fleetView: s.view(), Base: s.base(r), PollMs: pollMs, FleetPath: fleetPath}
	if g := s.gens.Current(); g != nil {
		d.Image, d.Kernel = s.genPath(g.Generation, "image.iso"), s.genPath(g.Generation, "vmlinuz")
		d.HasUKI = g.UKI != nil
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page runs only its own inline script, loads nothing from
	// elsewhere, and talks only to this server.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	if err := indexPage.Execute(w, d); err != nil {
		s.log.Debug("write the index page", "err", err)
	}
}

// serveStatus answers /status.json: the daemon's status, as in the mount.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	b := s.status()
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

func (s *Server) status() []byte {
	if s.opts.Status == nil {
		return []byte("{}\n")
	}
	return s.opts.Status()
}
