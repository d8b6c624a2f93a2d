package httpserve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveiso/liveiso/live"
)

const testRun = "0badc0de"

// fakeGen is a generation of random bytes, distinct for each number.
func fakeGen(n uint64, imageSize int) *live.Snapshot {
	r := rand.New(rand.NewPCG(n, 1))
	fill := func(size int) []byte {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	img, kernel, initrd := fill(imageSize), fill(5000), fill(7000)
	return &live.Snapshot{
		Generation: n, Published: time.Date(2026, 12, 1, 10, 0, int(n), 0, time.UTC),
		Image: bytes.NewReader(img), ImageSize: int64(len(img)),
		Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)),
		Initrd: bytes.NewReader(initrd), InitrdSize: int64(len(initrd)),
	}
}

func genBytes(t *testing.T, g *live.Snapshot, name string) []byte {
	t.Helper()
	r, size := genFiles[name].bytes(g)
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

// testServer serves a Keep of keep generations over loopback.
func testServer(t *testing.T, keep int, opts Options, log *slog.Logger) (*Keep, *Server, *httptest.Server) {
	t.Helper()
	k := NewKeep(keep)
	opts.Run = testRun
	s, err := New(k, opts, log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return k, s, ts
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, url, header...)
}

func do(t *testing.T, method, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestGenerationFileHeaders(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{}, nil)
	g := fakeGen(1, 100_000)
	k.Publish(g)
	for _, name := range []string{"image.iso", "vmlinuz", "initrd.img"} {
		resp, body := get(t, ts.URL+"/g/1-"+testRun+"/"+name)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, genBytes(t, g, name)) {
			t.Errorf("%s: status %d, %d bytes, want 200 and the generation's %d bytes", name, resp.StatusCode, len(body), len(genBytes(t, g, name)))
		}
		want := map[string]string{
			"Etag":          `"` + testRun + `-1"`,
			"Cache-Control": "public, max-age=31536000, immutable",
			"Last-Modified": "Tue, 01 Dec 2026 10:00:01 GMT",
			"Accept-Ranges": "bytes",
		}
		for h, v := range want {
			if got := resp.Header.Get(h); got != v {
				t.Errorf("%s: %s = %q, want %q", name, h, got, v)
			}
		}
	}
}

func TestRanges(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{}, nil)
	const size = 100_000
	g := fakeGen(1, size)
	k.Publish(g)
	img := genBytes(t, g, "image.iso")
	url := ts.URL + "/g/1-" + testRun + "/image.iso"
	etag := `"` + testRun + `-1"`

	for _, tc := range []struct {
		name, rangeHdr, ifRange string
		status                  int
		want                    []byte // the body of a single part
		contentRange            string
	}{
		{"single", "bytes=100-199", "", 206, img[100:200], "bytes 100-199/100000"},
		{"suffix", "bytes=-500", "", 206, img[size-500:], "bytes 99500-99999/100000"},
		{"open-ended", "bytes=99000-", "", 206, img[99000:], "bytes 99000-99999/100000"},
		{"clipped", "bytes=99990-200000", "", 206, img[99990:], "bytes 99990-99999/100000"},
		{"if-range matches", "bytes=0-9", etag, 206, img[:10], "bytes 0-9/100000"},
		{"if-range is another generation's", "bytes=0-9", `"` + testRun + `-2"`, 200, img, ""},
		{"if-range weak", "bytes=0-9", "W/" + etag, 200, img, ""},
		{"malformed", "bytes=abc", "", 200, img, ""},
		{"not bytes", "pages=1-2", "", 200, img, ""},
		{"backwards", "bytes=10-5", "", 200, img, ""},
		{"empty spec", "bytes=0-1,,5-6", "", 200, img, ""},
		{"huge", "bytes=0-99999999999999999999999", "", 200, img, ""},
		{"unsatisfiable", "bytes=100000-", "", 416, nil, "bytes */100000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := []string{"Range", tc.rangeHdr}
			if tc.ifRange != "" {
				h = append(h, "If-Range", tc.ifRange)
			}
			resp, body := get(t, url, h...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Content-Range"); got != tc.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tc.contentRange)
			}
			if tc.want != nil && !bytes.Equal(body, tc.want) {
				t.Errorf("body: %d bytes, not the %d bytes asked for", len(body), len(tc.want))
			}
		})
	}

	t.Run("multiple", func(t *testing.T) {
		resp, body := get(t, url, "Range", "bytes=0-9,5000-5999,-10")
		if resp.StatusCode != 206 {
			t.Fatalf("status %d, want 206", resp.StatusCode)
		}
		mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/byteranges" {
			t.Fatalf("Content-Type %q (%v), want multipart/byteranges", resp.Header.Get("Content-Type"), err)
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for i, want := range [][]byte{img[:10], img[5000:6000], img[size-10:]} {
			p, err := mr.NextPart()
			if err != nil {
				t.Fatalf("part %d: %v", i, err)
			}
			got, _ := io.ReadAll(p)
			if !bytes.Equal(got, want) {
				t.Errorf("part %d (%s): %d bytes, not the range asked for", i, p.Header.Get("Content-Range"), len(got))
			}
		}
		if _, err := mr.NextPart(); err != io.EOF {
			t.Errorf("more than three parts: %v", err)
		}
	})

	t.Run("head", func(t *testing.T) {
		resp, body := do(t, http.MethodHead, url)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Length") != "100000" || len(body) != 0 {
			t.Errorf("HEAD: status %d, Content-Length %q, %d body bytes", resp.StatusCode, resp.Header.Get("Content-Length"), len(body))
		}
	})

	t.Run("if-none-match", func(t *testing.T) {
		resp, body := get(t, url, "If-None-Match", etag)
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("status %d with %d bytes, want 304", resp.StatusCode, len(body))
		}
	})
}

// rawStatus sends a request line as given (no client cleans the path) and
// returns the status code.
func rawStatus(t *testing.T, addr, method, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: liveiso.test\r\nConnection: close\r\n\r\n", method, target)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestOnlyTheRoutesExist(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{}, nil)
	k.Publish(fakeGen(1, 4096))
	addr := strings.TrimPrefix(ts.URL, "http://")
	g := "/g/1-" + testRun
	for target, want := range map[string]int{
		"/":                               200,
		"/status.json":                    200,
		"/boot.ipxe":                      200,
		"/sanboot.ipxe":                   200,
		"/image.iso":                      302,
		"/vmlinuz":                        302,
		"/initrd.img":                     302,
		"/uki.efi":                        404, // this generation has none
		g + "/uki.efi":                    404,
		g + "/image.iso":                  200,
		g + "/initrd.img":                 200,
		g + "/vmlinuz":                    200,
		"/image.iso?x=1":                  302, // a query names the same resource
		"/etc/shadow":                     404,
		"/g/1/image.iso":                  404, // no run token
		g + "/../image.iso":               404,
		g + "/./image.iso":                404,
		"/g/1-" + testRun + "":            404,
		g + "/":                           404,
		g + "/image.iso/":                 404,
		g + "//image.iso":                 404,
		g + "/etc/shadow":                 404,
		g + "/isolinux.bin":               404,
		"/g/01-" + testRun + "/image.iso": 404, // one spelling per generation
		"/g/0-" + testRun + "/image.iso":  404,
		"/g/-1-" + testRun + "/image.iso": 404,
		"/g/1-" + testRun + "0/image.iso": 404,
		"/g/1-0BADC0DE/image.iso":         404,
		"/g/18446744073709551616-" + testRun + "/image.iso": 404,
		"/g/2-" + testRun + "/image.iso":                    404, // not yet
		"/%69mage.iso":                                      404,
		"/g/1-" + testRun + "/%69mage.iso":                  404,
		"/g/1-" + testRun + "%2fimage.iso":                  404,
		"/g/1-" + testRun + "/..%2fimage.iso":               404,
		"/%2e%2e/etc/passwd":                                404,
		"//image.iso":                                       404,
		"/image.iso/":                                       404,
		"/IMAGE.ISO":                                        404,
		"/status.json/":                                     404,
		"/index.html":                                       404,
		"http://liveiso.test/image.iso":                     302,
		"http://liveiso.test/../image.iso":                  404,
		"*":                                                 404,
	} {
		if got := rawStatus(t, addr, "GET", target); got != want {
			t.Errorf("GET %s: %d, want %d", target, got, want)
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
		if got := rawStatus(t, addr, m, g+"/image.iso"); got != 405 {
			t.Errorf("%s: %d, want 405", m, got)
		}
	}
}

func TestRedirectToTheCurrentGeneration(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{}, nil)
	resp, _ := get(t, ts.URL+"/image.iso")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("before the first generation: %d, want 503", resp.StatusCode)
	}
	k.Publish(fakeGen(1, 4096))
	g2 := fakeGen(2, 8192)
	k.Publish(g2)
	for _, name := range []string{"image.iso", "vmlinuz", "initrd.img"} {
		resp, _ := get(t, ts.URL+"/"+name)
		want := "/g/2-" + testRun + "/" + name
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("/%s: %d to %q (Cache-Control %q), want 302 to %q, no-store", name, resp.StatusCode,
				resp.Header.Get("Location"), resp.Header.Get("Cache-Control"), want)
		}
	}
	// A client that follows the redirect reads the current generation.
	r, err := http.Get(ts.URL + "/image.iso")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !bytes.Equal(body, genBytes(t, g2, "image.iso")) {
		t.Errorf("following /image.iso: %d bytes, not generation 2's", len(body))
	}
}

func TestIPXEScripts(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{Append: "console=ttyS0 quiet"}, nil)
	k.Publish(fakeGen(7, 4096))
	addr := strings.TrimPrefix(ts.URL, "http://")
	for _, tc := range []struct{ host, base string }{
		{"", ts.URL}, // the Host the client dialled
		{"boot.example:8443", "http://boot.example:8443"}, // through a proxy
		{"[::1]:80", "http://[::1]:80"},
		{"evil\nboot http://x", ts.URL}, // never written into the script
		{"a/b", ts.URL},
	} {
		req, _ := http.NewRequest("GET", ts.URL+"/boot.ipxe", nil)
		if tc.host != "" {
			req.Host = tc.host
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		// Write the request by hand: the client refuses to send a bad Host.
		host := tc.host
		if host == "" {
			host = addr
		}
		fmt.Fprintf(c, "GET /boot.ipxe HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", strings.ReplaceAll(host, "\n", ""))
		resp, err := http.ReadResponse(bufio.NewReader(c), req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode == 400 {
			continue // net/http refused the Host itself: nothing reflected either
		}
		want := "#!ipxe\n# liveiso generation 7\n" +
			"kernel " + tc.base + "/g/7-" + testRun + "/vmlinuz initrd=initrd.img console=ttyS0 quiet\n" +
			"initrd " + tc.base + "/g/7-" + testRun + "/initrd.img\n" +
			"boot\n"
		if string(body) != want || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Host %q: /boot.ipxe (Cache-Control %q):\n%s\nwant:\n%s", tc.host, resp.Header.Get("Cache-Control"), body, want)
		}
	}
	_, body := get(t, ts.URL+"/sanboot.ipxe")
	want := "#!ipxe\n# liveiso generation 7\nsanboot " + ts.URL + "/g/7-" + testRun + "/image.iso\n"
	if string(body) != want {
		t.Errorf("/sanboot.ipxe:\n%s\nwant:\n%s", body, want)
	}
	_, page := get(t, ts.URL+"/")
	for _, s := range []string{"Generation 7", "chain " + ts.URL + "/boot.ipxe", "/g/7-" + testRun + "/image.iso"} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("the index page lacks %q:\n%s", s, page)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	_, _, ts := testServer(t, 2, Options{Status: func() []byte { return []byte(`{"state":"building"}`) }}, nil)
	resp, body := get(t, ts.URL+"/status.json")
	if string(body) != `{"state":"building"}` || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("status.json: %q, %v", body, resp.Header)
	}
	_, page := get(t, ts.URL+"/")
	if !bytes.Contains(page, []byte("No generation is ready yet (building)")) {
		t.Errorf("index page before the first generation:\n%s", page)
	}
}

func TestDroppedGenerationIsGone(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{}, nil)
	gens := map[uint64]*live.Snapshot{}
	for n := uint64(1); n <= 5; n++ {
		gens[n] = fakeGen(n, 4096)
		k.Publish(gens[n])
	}
	for n := uint64(1); n <= 5; n++ {
		resp, body := get(t, fmt.Sprintf("%s/g/%d-%s/image.iso", ts.URL, n, testRun))
		switch kept := n >= 4; {
		case kept && (resp.StatusCode != 200 || !bytes.Equal(body, genBytes(t, gens[n], "image.iso"))):
			t.Errorf("kept generation %d: %d, %d bytes", n, resp.StatusCode, len(body))
		case !kept && (resp.StatusCode != http.StatusGone || !strings.Contains(string(body), "the current generation is 5: /g/5-"+testRun+"/image.iso")):
			t.Errorf("dropped generation %d: %d %q, want 410 naming generation 5", n, resp.StatusCode, body)
		}
	}
	resp, body := get(t, ts.URL+"/g/5-12345678/image.iso")
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(body), "earlier run") {
		t.Errorf("a generation of another run: %d %q, want 410", resp.StatusCode, body)
	}
}

// blockingReader serves bytes of r, but its first read waits for release.
type blockingReader struct {
	r       io.ReaderAt
	started chan struct{}
	release chan struct{}
	first   atomic.Bool
}

func (b *blockingReader) ReadAt(p []byte, off int64) (int, error) {
	if b.first.CompareAndSwap(false, true) {
		close(b.started)
		<-b.release
	}
	return b.r.ReadAt(p, off)
}

// A request in flight holds its generation: newer generations are published
// meanwhile (Publish does not wait for it), and the generation stays
// readable, also to new requests, until the request ends.
func TestRequestInFlightHoldsItsGeneration(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{}, nil)
	g1 := fakeGen(1, 300_000)
	want := genBytes(t, g1, "image.iso")
	br := &blockingReader{r: g1.Image, started: make(chan struct{}), release: make(chan struct{})}
	g1.Image = br
	k.Publish(g1)
	url := ts.URL + "/g/1-" + testRun + "/image.iso"
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			done <- result{nil, err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{b, err}
	}()
	select {
	case <-br.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request did not start reading")
	}
	published := make(chan struct{})
	go func() {
		for n := uint64(2); n <= 6; n++ {
			k.Publish(fakeGen(n, 4096))
		}
		close(published)
	}()
	select {
	case <-published:
	case <-time.After(10 * time.Second):
		t.Fatal("publishing waited for a request in flight")
	}
	resp, body := get(t, url, "Range", "bytes=0-99")
	if resp.StatusCode != 206 || !bytes.Equal(body, want[:100]) {
		t.Errorf("generation 1 while a request reads it: %d, want 206 and its bytes", resp.StatusCode)
	}
	close(br.release)
	r := <-done
	if r.err != nil || !bytes.Equal(r.body, want) {
		t.Fatalf("the request in flight: %v, %d bytes, want generation 1's %d", r.err, len(r.body), len(want))
	}
	// The handler releases after its last write; give it a moment.
	deadline := time.Now().Add(10 * time.Second)
	for k.Held() != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if resp, _ := get(t, url); resp.StatusCode != http.StatusGone {
		t.Errorf("generation 1 after its last request: %d, want 410", resp.StatusCode)
	}
}

// countHandler counts log records with a message.
type countHandler struct {
	mu   sync.Mutex
	msgs map[string]int
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs[r.Message]++
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

func TestOneLogLinePerClientAndGeneration(t *testing.T) {
	h := &countHandler{msgs: map[string]int{}}
	k, _, ts := testServer(t, 2, Options{}, slog.New(h))
	k.Publish(fakeGen(1, 4096))
	for i := 0; i < 20; i++ {
		get(t, ts.URL+"/g/1-"+testRun+"/image.iso", "Range", fmt.Sprintf("bytes=%d-%d", i*100, i*100+99))
	}
	k.Publish(fakeGen(2, 4096))
	for i := 0; i < 5; i++ {
		get(t, ts.URL+"/g/2-"+testRun+"/vmlinuz")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.msgs["client reads a generation"]; n != 2 {
		t.Errorf("%d log lines for one client reading two generations in 25 requests, want 2 (%v)", n, h.msgs)
	}
}

// A client that asks for a generation and then reads nothing lets go of it
// once a write has waited for the stall timeout: it cannot hold a dropped
// generation (and its files) for ever.
func TestStuckClientLetsGo(t *testing.T) {
	k, s, ts := testServer(t, 1, Options{}, nil)
	s.stall = 300 * time.Millisecond
	const size = 256 << 20 // far more than loopback's socket buffers take
	k.Publish(&live.Snapshot{Generation: 1, Image: zeros{}, ImageSize: size, Published: time.Now()})
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /g/1-%s/image.iso HTTP/1.1\r\nHost: x\r\n\r\n", testRun)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil) // the header, then nothing
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	k.Publish(fakeGen(2, 4096)) // generation 1 leaves the ring; the request holds it
	if k.Held() != 2 {
		t.Fatalf("%d generations held, want 2: the one being read and the current one", k.Held())
	}
	deadline := time.Now().Add(20 * time.Second)
	for k.Held() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d generations still held 20 s after the client stopped reading, want 1", k.Held())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, ok := k.Acquire(1); ok {
		t.Error("generation 1 still readable after its stuck request was cut off")
	}
}

// zeros is an endless source of zero bytes.
type zeros struct{}

func (zeros) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	return len(p), nil
}

// iPXE's connection is closed after each whole response (it never closes
// it itself: it boots what it fetched), but kept for range requests
// (sanboot) and for other clients.
func TestIPXEConnectionClosed(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{}, nil)
	k.Publish(fakeGen(1, 100_000))
	for _, tc := range []struct {
		name   string
		header []string
		closed bool
	}{
		{"iPXE GET", []string{"User-Agent", "iPXE/1.0.0+git-20190125.36a4c85-5.1"}, true},
		{"iPXE range", []string{"User-Agent", "iPXE/1.21.1", "Range", "bytes=0-2047"}, false},
		{"curl GET", []string{"User-Agent", "curl/7.88.1"}, false},
	} {
		for _, path := range []string{"/boot.ipxe", "/g/1-" + testRun + "/vmlinuz"} {
			conn, err := net.Dial("tcp", ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			if err := req.Write(conn); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// After the response: EOF if the server closed, else a timeout.
			conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			_, err = br.ReadByte()
			closed := err == io.EOF
			if closed != tc.closed || resp.Close != tc.closed {
				t.Errorf("%s %s: connection closed %v (Connection: close %v), want %v", tc.name, path, closed, resp.Close, tc.closed)
			}
			conn.Close()
		}
	}
}
