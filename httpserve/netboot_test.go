package httpserve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/live"
)

// publishOnRead publishes next into k at its first read: a generation
// published while a request reads the one before.
type publishOnRead struct {
	io.ReaderAt
	k    *Keep
	next *live.Snapshot
	done atomic.Bool
}

func (p *publishOnRead) ReadAt(b []byte, off int64) (int, error) {
	if p.done.CompareAndSwap(false, true) {
		p.k.Publish(p.next)
	}
	return p.ReaderAt.ReadAt(b, off)
}

func TestStableImage(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{}, nil)
	g1, g2 := fakeGen(1, 100_000), fakeGen(2, 150_000)
	k.Publish(g1)
	head, _ := do(t, http.MethodHead, ts.URL+"/image.iso")
	size := head.ContentLength
	if head.StatusCode != 200 || size < 4<<20 || size%(1<<20) != 0 || head.Header.Get("Content-Type") != "application/vnd.efi-iso" {
		t.Fatalf("HEAD /image.iso: %d, %d bytes, %q; want 200, at least 4 MiB in whole MiB, application/vnd.efi-iso",
			head.StatusCode, size, head.Header.Get("Content-Type"))
	}
	// An edit between the HEAD and the GET: the size stays, the bytes are
	// the new generation's, then zeros.
	k.Publish(g2)
	resp, body := get(t, ts.URL+"/image.iso")
	want := append(genBytes(t, g2, "image.iso"), make([]byte, int(size)-150_000)...)
	if resp.StatusCode != 200 || int64(len(body)) != size || !bytes.Equal(body, want) {
		t.Errorf("GET /image.iso after an edit: %d, %d bytes, want 200 and generation 2's bytes then zeros, %d in all", resp.StatusCode, len(body), size)
	}
	if resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") != fmt.Sprintf(`"%s-2-%d"`, testRun, size) {
		t.Errorf("GET /image.iso: Cache-Control %q, ETag %q", resp.Header.Get("Cache-Control"), resp.Header.Get("ETag"))
	}
	// Ranges: in the content and in the zeros.
	for _, rg := range [][2]int64{{0, 99}, {149_990, 150_009}, {size - 10, size - 1}} {
		resp, body := get(t, ts.URL+"/image.iso", "Range", fmt.Sprintf("bytes=%d-%d", rg[0], rg[1]))
		if resp.StatusCode != 206 || !bytes.Equal(body, want[rg[0]:rg[1]+1]) {
			t.Errorf("Range %v of /image.iso: %d, %d bytes", rg, resp.StatusCode, len(body))
		}
	}
	// A request reads one generation from its first byte to its last,
	// even when another is published while it reads.
	g3, g4 := fakeGen(3, 120_000), fakeGen(4, 130_000)
	g3.Image = &publishOnRead{ReaderAt: g3.Image, k: k, next: g4}
	k.Publish(g3)
	_, body = get(t, ts.URL+"/image.iso")
	if !bytes.Equal(body[:120_000], genBytes(t, g3, "image.iso")) || !bytes.Equal(body[120_000:], make([]byte, int(size)-120_000)) {
		t.Errorf("a GET during a publication did not read one generation")
	}
	// Content beyond the capacity: the size grows.
	k.Publish(fakeGen(5, int(size)+1))
	head, _ = do(t, http.MethodHead, ts.URL+"/image.iso")
	if head.ContentLength <= size {
		t.Errorf("after the image outgrew %d bytes, HEAD says %d", size, head.ContentLength)
	}
}

// chunkGen is a generation whose initrd is parts, one after another.
func chunkGen(num uint64, parts ...[]byte) *live.Snapshot {
	g := fakeGen(num, 4096)
	var initrd []byte
	for _, p := range parts {
		g.InitrdParts = append(g.InitrdParts, cache.Part{Offset: int64(len(initrd)), SizeBytes: int64(len(p)), Data: bytes.NewReader(p)})
		initrd = append(initrd, p...)
	}
	g.Initrd, g.InitrdSize = bytes.NewReader(initrd), int64(len(initrd))
	return g
}

// publish does what the HTTP outlet does with a snapshot.
func publish(s *Server, k *Keep, g *live.Snapshot) {
	s.Published(g)
	k.Publish(g)
}

// keyOf is the content address of b.
func keyOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var initrdLine = regexp.MustCompile(`(?m)^initrd --name c(\d+) (\S+)$`)

// fetchChunks follows a chunk script: the initrd lines' bytes, in order.
func fetchChunks(t *testing.T, script string) (initrd []byte, urls []string) {
	t.Helper()
	for i, m := range initrdLine.FindAllStringSubmatch(script, -1) {
		if m[1] != strconv.Itoa(i) {
			t.Errorf("initrd line %d is named c%s", i, m[1])
		}
		resp, body := get(t, m[2])
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != immutable {
			t.Fatalf("%s: %d, Cache-Control %q", m[2], resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		initrd = append(initrd, body...)
		urls = append(urls, m[2])
	}
	return initrd, urls
}

func TestChunkScriptAndChunks(t *testing.T) {
	k, s, ts := testServer(t, 1, Options{Append: "console=ttyS0"}, nil)
	a, b, c, trailer := []byte(strings.Repeat("a", 5000)), []byte(strings.Repeat("b", 3000)), []byte("c"), []byte("TRAILER")
	g1 := chunkGen(1, a, b, trailer)
	publish(s, k, g1)
	kernelKey := keyOf(genBytes(t, g1, "vmlinuz"))

	_, script := get(t, ts.URL+"/boot.ipxe"+clientQuery)
	wantHead := "#!ipxe\n# liveiso generation 1, 3 chunks\nkernel " + ts.URL + "/c/" + kernelKey + " initrd=c0 initrd=c1 initrd=c2 console=ttyS0\n"
	if !strings.HasPrefix(string(script), wantHead) || !strings.HasSuffix(string(script), "\nboot\n") {
		t.Errorf("/boot.ipxe:\n%s\nwant it to start:\n%s", script, wantHead)
	}
	if _, kernel := get(t, ts.URL+"/c/"+kernelKey); !bytes.Equal(kernel, genBytes(t, g1, "vmlinuz")) {
		t.Errorf("the kernel at its content address is not the kernel")
	}
	initrd, urls1 := fetchChunks(t, string(script))
	if !bytes.Equal(initrd, genBytes(t, g1, "initrd.img")) || len(urls1) != 3 {
		t.Errorf("the chunks of generation 1 (%d) are not its initrd", len(urls1))
	}
	if _, whole := get(t, ts.URL+"/boot.ipxe"+clientQuery+"&whole=1"); !strings.Contains(string(whole), "/g/1-"+testRun+"/initrd.img\n") {
		t.Errorf("/boot.ipxe?whole=1:\n%s", whole)
	}

	// An edit changes chunk b into c: generation 2 names a's and the
	// trailer's URLs again, and one new one.
	g2 := chunkGen(2, a, c, trailer)
	publish(s, k, g2)
	_, script = get(t, ts.URL+"/boot.ipxe"+clientQuery)
	initrd, urls2 := fetchChunks(t, string(script))
	if !bytes.Equal(initrd, genBytes(t, g2, "initrd.img")) {
		t.Errorf("the chunks of generation 2 are not its initrd")
	}
	if urls2[0] != urls1[0] || urls2[2] != urls1[2] || urls2[1] == urls1[1] {
		t.Errorf("generation 2's chunk URLs %q, generation 1's %q: want the same but for the second", urls2, urls1)
	}
	// Generation 1 is dropped (keep 1): its own chunk is gone, the shared
	// ones stay.
	if resp, _ := get(t, urls1[1]); resp.StatusCode != 404 {
		t.Errorf("a chunk only a dropped generation had: %d, want 404", resp.StatusCode)
	}
	resp, body := get(t, urls1[0], "Range", "bytes=10-19")
	if resp.StatusCode != 206 || !bytes.Equal(body, a[10:20]) {
		t.Errorf("a range of a chunk: %d %q", resp.StatusCode, body)
	}

	// Another run of the daemon (a new server, a new Keep) serves the
	// same bytes at the same URLs.
	k2, s2, ts2 := testServer(t, 1, Options{}, nil)
	publish(s2, k2, chunkGen(1, a, c, trailer))
	get(t, ts2.URL+"/boot.ipxe"+clientQuery)
	for i, u := range urls2 {
		u2 := ts2.URL + strings.TrimPrefix(u, ts.URL)
		if resp, body := get(t, u2); resp.StatusCode != 200 || !bytes.Equal(body, [][]byte{a, c, trailer}[i]) {
			t.Errorf("after a restart, %s: %d", u2, resp.StatusCode)
		}
	}
}

// countingReader counts its reads.
type countingReader struct {
	io.ReaderAt
	reads *atomic.Int64
}

func (c countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	return c.ReaderAt.ReadAt(p, off)
}

// ChunkNamer reads only the chunks it has not named in the last call.
func TestChunkNamerHashesOnlyNewReaders(t *testing.T) {
	var n ChunkNamer
	var reads atomic.Int64
	same := &countingReader{bytes.NewReader([]byte("same")), &reads}
	if err := n.Name([]Chunk{{SizeBytes: 4, Data: same}}); err != nil {
		t.Fatal(err)
	}
	first := reads.Load()
	chunks := []Chunk{{SizeBytes: 4, Data: same}, {SizeBytes: 3, Data: &countingReader{bytes.NewReader([]byte("new")), &reads}}}
	if err := n.Name(chunks); err != nil {
		t.Fatal(err)
	}
	if first == 0 || reads.Load() != 2*first {
		t.Errorf("reads: %d for the first call, %d after the second; want the second to read only the new chunk", first, reads.Load())
	}
	if sum := sha256.Sum256([]byte("same")); chunks[0].Key != hex.EncodeToString(sum[:]) || !validKey(chunks[1].Key) {
		t.Errorf("keys %q, %q", chunks[0].Key, chunks[1].Key)
	}
}

func TestIdentifyScript(t *testing.T) {
	k, _, ts := testServer(t, 1, Options{}, nil)
	k.Publish(fakeGen(1, 4096))
	for path, want := range map[string]string{
		"/boot.ipxe":            "chain " + ts.URL + "/boot.ipxe?mac=${net0/mac}&platform=${platform}&buildarch=${buildarch}\n",
		"/boot.ipxe?whole=1":    "chain " + ts.URL + "/boot.ipxe?mac=${net0/mac}&platform=${platform}&buildarch=${buildarch}&whole=1\n",
		"/sanboot.ipxe":         "chain " + ts.URL + "/sanboot.ipxe?mac=${net0/mac}&platform=${platform}&buildarch=${buildarch}\n",
		"/sanboot.ipxe?mac=x":   "sanboot " + ts.URL + "/g/1-" + testRun + "/image.iso\n",
		"/boot.ipxe?platform=":  "boot\n",
		"/boot.ipxe?buildarch=": "boot\n",
	} {
		if _, body := get(t, ts.URL+path); !strings.HasPrefix(string(body), "#!ipxe\n") || !strings.HasSuffix(string(body), want) {
			t.Errorf("%s:\n%s\nwant it to end in:\n%s", path, body, want)
		}
	}
}

// A client's fields are shown as text: escaped on the page, checked for
// their shape.
func TestFleetPageEscapesClients(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{}, nil)
	k.Publish(fakeGen(3, 4096))
	hostile := "<script>alert(1)</script>"
	get(t, ts.URL+"/boot.ipxe?mac=02:00:00:00:00:01&platform="+hostile+"&buildarch=x86_64")
	get(t, ts.URL+"/boot.ipxe?mac=<b>bold</b>&platform=efi")
	_, page := get(t, ts.URL+"/")
	for _, s := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "02:00:00:00:00:01", "x86_64", "<td>efi</td>"} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("the page lacks %q", s)
		}
	}
	for _, s := range []string{hostile, "<b>bold</b>", "&lt;b&gt;bold"} {
		if bytes.Contains(page, []byte(s)) {
			t.Errorf("the page has %q", s)
		}
	}
	_, js := get(t, ts.URL+fleetPath)
	if !bytes.Contains(js, []byte(`"mac":"02:00:00:00:00:01"`)) || !bytes.Contains(js, []byte(`"generation":3`)) {
		t.Errorf("%s: %s", fleetPath, js)
	}
}

// /metrics is valid Prometheus text (promtool check metrics) and counts the
// bytes of each route and generation.
func TestMetrics(t *testing.T) {
	k, s, ts := testServer(t, 2, Options{Status: func() []byte {
		return []byte(`{"generation":2,"state":"ready","build_ms":1500,"builds_started":3,"builds_failed":1,"builds_cancelled":0,"generations_published":2,"chunks_rebuilt":1,"chunks_total":3}`)
	}}, nil)
	a, b := []byte(strings.Repeat("a", 5000)), []byte(strings.Repeat("b", 3000))
	publish(s, k, chunkGen(1, a, b))
	_, script := get(t, ts.URL+"/boot.ipxe"+clientQuery)
	fetchChunks(t, string(script))
	publish(s, k, chunkGen(2, a, []byte("c")))
	_, script = get(t, ts.URL+"/boot.ipxe"+clientQuery)
	fetchChunks(t, string(script))
	get(t, ts.URL+"/etc/shadow")

	_, body := get(t, ts.URL+metricsPath)
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, out, body)
	}
	for _, line := range []string{
		"liveiso_generation 2",
		"liveiso_builds_started_total 3",
		"liveiso_builds_failed_total 1",
		"liveiso_build_duration_seconds 1.500",
		"liveiso_clients_seen 1",
		`liveiso_http_response_bytes_total{route="chunk",generation="1"} 8000`, // a and b
		`liveiso_http_response_bytes_total{route="chunk",generation="2"} 5001`, // a again and c: no cache in front
		`liveiso_http_requests_total{route="chunk",generation="2"} 2`,
		`liveiso_http_requests_total{route="other"} 1`,
	} {
		if !strings.Contains(string(body), "\n"+line+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", line, body)
		}
	}
}

// The page, /fleet.json and /metrics say nothing of the rootfs's files,
// though status.json does (a build error names the file, the rootfs its
// path).
func TestPagesNameNoRootfsFile(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{Status: func() []byte {
		return []byte(`{"generation":1,"state":"error","error":"read etc/shadow: permission denied","rootfs":"/srv/secret-tree","warnings":["etc/gshadow is odd"],"builds_failed":1}`)
	}}, nil)
	k.Publish(fakeGen(1, 4096))
	for _, path := range []string{"/", fleetPath, metricsPath} {
		_, body := get(t, ts.URL+path)
		for _, secret := range []string{"shadow", "secret-tree"} {
			if bytes.Contains(body, []byte(secret)) {
				t.Errorf("%s names %q:\n%s", path, secret, body)
			}
		}
	}
	if _, page := get(t, ts.URL+"/"); !bytes.Contains(page, []byte(`<span id="failed">1</span> builds failed`)) {
		t.Errorf("the page does not say a build failed:\n%s", page)
	}
}
