package httpserve

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// Metrics at /metrics, in Prometheus' text exposition format (version
// 0.0.4). Written by hand rather than with prometheus/client_golang: a
// dozen series whose labels the server chooses (routes, generation
// numbers) need no registry, and the library would bring half a dozen
// modules (common, procfs, protobuf, ...) into a binary that has five.
// The test checks the output with promtool.
const metricsPath = "/metrics"

// Route labels.
const (
	routeIndex      = "index"
	routeStatus     = "status"
	routeFleet      = "fleet"
	routeMetrics    = "metrics"
	routeBoot       = "boot_script"
	routeSanboot    = "sanboot_script"
	routeStable     = "stable"     // /image.iso, /uki.efi
	routeRedirect   = "redirect"   // /vmlinuz, /initrd.img
	routeGeneration = "generation" // /g/N-RUN/NAME
	routeChunk      = "chunk"
	routeOther      = "other" // 404, 405
)

// series is one route's counts for one generation (0: none).
type series struct {
	route      string
	generation uint64
}

type counts struct {
	requests, bytes int64
}

// metrics counts requests and response bytes.
type metrics struct {
	mu     sync.Mutex
	counts map[series]*counts
}

// countingWriter is the ResponseWriter every handler writes to: it counts
// the body bytes, and a handler that reads a generation tags it with the
// generation's number (tagGeneration).
type countingWriter struct {
	http.ResponseWriter
	route      string
	generation uint64
	bytes      int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// tagGeneration says that the response of w reads generation n.
func tagGeneration(w http.ResponseWriter, n uint64) {
	for {
		switch c := w.(type) {
		case *countingWriter:
			c.generation = n
			return
		case bodyWriter:
			w = c.ResponseWriter
		default:
			return
		}
	}
}

// done adds a finished response.
func (m *metrics) done(c *countingWriter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts == nil {
		m.counts = make(map[series]*counts)
	}
	k := series{c.route, c.generation}
	v := m.counts[k]
	if v == nil {
		v = &counts{}
		m.counts[k] = v
	}
	v.requests++
	v.bytes += c.bytes
}

// snapshot returns the counts sorted, dropping generations older than
// oldest, so that the series stay bounded however many generations pass.
func (m *metrics) snapshot(oldest uint64) ([]series, map[series]counts) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]series, 0, len(m.counts))
	vals := make(map[series]counts, len(m.counts))
	for k, v := range m.counts {
		if k.generation != 0 && k.generation < oldest {
			delete(m.counts, k)
			continue
		}
		keys = append(keys, k)
		vals[k] = *v
	}
	slices.SortFunc(keys, func(a, b series) int {
		return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.generation, b.generation))
	})
	return keys, vals
}

// statusCounts are the fields of status.json that /metrics and the page
// show.
type statusCounts struct {
	Generation    uint64 `json:"generation"`
	State         string `json:"state"`
	BuildMs       int64  `json:"build_ms"`
	ChunksRebuilt int    `json:"chunks_rebuilt"`
	ChunksTotal   int    `json:"chunks_total"`
	Started       int    `json:"builds_started"`
	Cancelled     int    `json:"builds_cancelled"`
	Failed        int    `json:"builds_failed"`
	Published     int    `json:"generations_published"`
}

func (s *Server) statusCounts() statusCounts {
	var st statusCounts
	_ = json.Unmarshal(s.status(), &st) // {} without a status: zeros
	return st
}

// serveMetrics writes the metrics. Nothing in them comes from the rootfs or
// from a client: the labels are route names and generation numbers.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	st := s.statusCounts()
	var cur uint64
	if g := s.gens.Current(); g != nil {
		cur = g.Generation
	}
	b := bufio.NewWriter(w)
	defer b.Flush()
	metric := func(name, typ, help string) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	one := func(name, typ, help string, v string) {
		metric(name, typ, help)
		fmt.Fprintf(b, "%s %s\n", name, v)
	}
	itoa := func(v int) string { return strconv.Itoa(v) }
	one("liveiso_generation", "gauge", "The generation served as current (0 before the first).", strconv.FormatUint(cur, 10))
	one("liveiso_builds_started_total", "counter", "Builds started since the daemon started, the first one included.", itoa(st.Started))
	one("liveiso_builds_failed_total", "counter", "Builds that failed (the last good generation stayed current).", itoa(st.Failed))
	one("liveiso_builds_cancelled_total", "counter", "Builds abandoned for a newer edit or at shutdown.", itoa(st.Cancelled))
	one("liveiso_generations_published_total", "counter", "Builds that became the current generation.", itoa(st.Published))
	one("liveiso_build_duration_seconds", "gauge", "How long the build of the generation served took.", strconv.FormatFloat(float64(st.BuildMs)/1000, 'f', 3, 64))
	one("liveiso_chunks_rebuilt", "gauge", "Chunks of the generation served that its build compressed (not taken from the cache).", itoa(st.ChunksRebuilt))
	one("liveiso_chunks", "gauge", "Chunks (initrd members) of the generation served.", itoa(st.ChunksTotal))
	one("liveiso_clients_seen", "gauge", "Clients seen (by MAC address when the iPXE script sends it, else by address), at most "+itoa(maxClients)+".", itoa(s.fleet.len()))

	var oldest uint64
	if cur > maxIndexed {
		oldest = cur - maxIndexed
	}
	keys, vals := s.metrics.snapshot(oldest)
	label := func(k series) string {
		if k.generation == 0 {
			return fmt.Sprintf(`{route=%q}`, k.route)
		}
		return fmt.Sprintf(`{route=%q,generation="%d"}`, k.route, k.generation)
	}
	metric("liveiso_http_requests_total", "counter", "HTTP requests answered, by route and by the generation read (none for routes that read none).")
	for _, k := range keys {
		fmt.Fprintf(b, "liveiso_http_requests_total%s %d\n", label(k), vals[k].requests)
	}
	metric("liveiso_http_response_bytes_total", "counter", "Response body bytes sent, by route and by the generation read.")
	for _, k := range keys {
		fmt.Fprintf(b, "liveiso_http_response_bytes_total%s %d\n", label(k), vals[k].bytes)
	}
}
