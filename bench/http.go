package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liveiso/liveiso/internal/procfs"
)

// The HTTP step: liveiso serve against nginx serving the same image bytes
// from a page-cached file, each read by the same Go load client.
const (
	httpRangeBytes = 1 << 20         // the size of one range read
	httpLoadTime   = 3 * time.Second // one measurement: this long ...
	httpMaxReqs    = 100_000         // ... or this many requests
	rssPoll        = 50 * time.Millisecond
)

var httpClients = []int{1, 64}

// httpPatterns are the read patterns: whole images, and 1 MiB ranges at
// random 1 MiB-aligned offsets.
var httpPatterns = []string{"sequential GET", "1 MiB ranges"}

// httpResult is the HTTP step on one tree.
type httpResult struct {
	Corpus     string
	ImageBytes int64
	Nginx      string // nginx -v
	Rows       []*httpRow
	RSSIdle    int64 // liveiso serve's VmRSS before the loads
	RSSPeak    int64 // the most VmRSS seen while 64 clients read from it
}

// httpRow is one pattern and client count, against both servers.
type httpRow struct {
	Pattern string
	Clients int
	Liveiso samples // bytes/s
	Nginx   samples
}

var serveURLRe = regexp.MustCompile(`url=(http://\S+)`)

// measureHTTP runs liveiso serve and nginx on loopback and loads both.
func measureHTTP(ctx context.Context, cfg *config, c *corpus, work string) (*httpResult, error) {
	res := &httpResult{Corpus: c.Name, Nginx: toolVersion("nginx", "-v")}
	base, pid, stop, err := startServe(cfg, c, work, filepath.Join(work, "serve-cache"))
	if err != nil {
		return nil, err
	}
	defer stop()
	cfg.logf("http: liveiso serve at %s", base)

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 128, DisableCompression: true},
		// The immutable URL, as a client that followed the redirect has it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// /image.iso answers 200 (firmware HTTP Boot follows no redirect);
	// /vmlinuz still redirects to the generation's URL, beside its image.
	resp, err := client.Get(base + "vmlinuz")
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	liveURL := strings.TrimSuffix(base, "/") + strings.TrimSuffix(resp.Header.Get("Location"), "vmlinuz") + "image.iso"

	// nginx serves the same bytes from a file in the page cache.
	www := filepath.Join(work, "nginx", "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		return nil, err
	}
	if res.ImageBytes, err = download(ctx, client, liveURL, filepath.Join(www, "image.iso")); err != nil {
		return nil, err
	}
	stopNginx, nginxURL, err := startNginx(filepath.Join(work, "nginx"))
	if err != nil {
		return nil, err
	}
	defer stopNginx()
	if n, err := download(ctx, client, nginxURL, os.DevNull); err != nil || n != res.ImageBytes {
		return nil, fmt.Errorf("nginx: %d bytes of %d: %v", n, res.ImageBytes, err)
	}

	res.RSSIdle, _ = procfs.StatusBytes(pid, "VmRSS")
	for _, pattern := range httpPatterns {
		for _, n := range httpClients {
			row := &httpRow{Pattern: pattern, Clients: n}
			for run := 0; run < cfg.runs; run++ {
				// Alternate, so that a noisy neighbour hurts both.
				for _, side := range []struct {
					url string
					out *samples
					pid int
				}{{liveURL, &row.Liveiso, pid}, {nginxURL, &row.Nginx, 0}} {
					stopRSS := func() {}
					if side.pid != 0 && n == 64 {
						stopRSS = pollRSS(side.pid, &res.RSSPeak)
					}
					bps, err := httpLoad(ctx, client, side.url, res.ImageBytes, pattern, n)
					stopRSS()
					if err != nil {
						return nil, fmt.Errorf("%s, %d clients, %s: %w", pattern, n, side.url, err)
					}
					*side.out = append(*side.out, bps)
				}
			}
			cfg.logf("http: %s, %d clients: liveiso %.0f MB/s, nginx %.0f MB/s", pattern, n, row.Liveiso.median()/1e6, row.Nginx.median()/1e6)
			res.Rows = append(res.Rows, row)
		}
	}
	return res, nil
}

// waitServeURL reads the server's URL from its log.
func waitServeURL(logPath string, exited <-chan struct{}, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		if m := serveURLRe.FindSubmatch(b); m != nil {
			return string(m[1]), nil
		}
		select {
		case <-exited:
			return "", fmt.Errorf("liveiso serve exited:\n%s", lastLines(b, 20))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return "", errors.New("liveiso serve did not start serving")
}

// download GETs url into path and returns its size.
func download(ctx context.Context, client *http.Client, url, path string) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// startNginx runs Debian's nginx in the foreground with a configuration of
// its own under prefix, serving prefix/www on a free loopback port.
func startNginx(prefix string) (stop func(), url string, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := l.Addr().String()
	l.Close()
	for _, d := range []string{"tmp", "logs"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			return nil, "", err
		}
	}
	// Workers as many as cores, sendfile: how nginx serves files as
	// packaged, without the access log.
	conf := fmt.Sprintf(`daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	uwsgi_temp_path %[1]s/tmp/uwsgi;
	scgi_temp_path %[1]s/tmp/scgi;
	types { application/x-iso9660-image iso; }
	server {
		listen %[2]s;
		root %[1]s/www;
	}
}
`, prefix, addr)
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	cmd := exec.Command("nginx", "-p", prefix, "-c", confPath, "-e", filepath.Join(prefix, "logs", "error.log"))
	out, err := os.Create(filepath.Join(prefix, "logs", "stderr"))
	if err != nil {
		return nil, "", err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, "", fmt.Errorf("nginx: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(exited) }()
	stop = func() {
		cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown, workers included
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return stop, "http://" + addr + "/image.iso", nil
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(prefix, "logs", "error.log"))
			return nil, "", fmt.Errorf("nginx exited: %s", b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, "", errors.New("nginx does not accept connections")
		}
	}
}

// httpLoad has n clients read url (size bytes) in the pattern for
// httpLoadTime or httpMaxReqs requests, and returns the bytes/s of all.
func httpLoad(ctx context.Context, client *http.Client, url string, size int64, pattern string, n int) (float64, error) {
	var total, reqs atomic.Int64
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err }) }
	deadline := time.Now().Add(httpLoadTime)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 3))
			for time.Now().Before(deadline) && reqs.Add(1) <= httpMaxReqs && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
				want := size
				if pattern != httpPatterns[0] {
					off := rng.Int64N(max(1, size/httpRangeBytes)) * httpRangeBytes
					want = min(httpRangeBytes, size-off)
					req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+want-1))
				}
				resp, err := client.Do(req)
				if err != nil {
					fail(err)
					return
				}
				got, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || got != want {
					fail(fmt.Errorf("%s: %d bytes of %d: %v", resp.Status, got, want, err))
					return
				}
				total.Add(got)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(total.Load()) / time.Since(start).Seconds(), nil
}

// pollRSS records the most VmRSS of pid seen into peak until stopped.
func pollRSS(pid int, peak *int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if rss, err := procfs.StatusBytes(pid, "VmRSS"); err == nil && rss > *peak {
				*peak = rss
			}
			select {
			case <-done:
				return
			case <-time.After(rssPoll):
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// renderHTTP is the report's HTTP section.
func renderHTTP(p func(string, ...any), h *httpResult, runs int) {
	p("## 7. HTTP: liveiso serve against nginx (%s, %d runs of %v each, alternating)\n\n", h.Corpus, runs, httpLoadTime)
	p("| read | clients | nginx | liveiso serve | liveiso / nginx |\n|---|---:|---:|---:|---:|\n")
	for _, r := range h.Rows {
		p("| %s | %d | %s | %s | **%.2fx** |\n", r.Pattern, r.Clients, rate(r.Nginx), rate(r.Liveiso), r.Liveiso.median()/r.Nginx.median())
	}
	p("\nThe image (%s) is generation 1's `/g/N-RUN/image.iso`; nginx (%s, `sendfile on`, `worker_processes auto`,\n", mb(float64(h.ImageBytes)), h.Nginx)
	p("no access log) serves a copy of the same bytes from a file in the page cache, on another loopback port. The load\n")
	p("client is Go's net/http in the bench process, keep-alive, reading to io.Discard: whole images, or 1 MiB ranges at\n")
	p("random 1 MiB-aligned offsets. liveiso serve's RSS: %s before the loads, at most %s while 64 clients read (VmRSS, polled every %v).\n\n",
		mib(h.RSSIdle), mib(h.RSSPeak), rssPoll)
}

// startServe starts liveiso serve on c's tree, with its log in
// work/serve.log, and returns its base URL once it serves, its pid, and
// the func that stops it (SIGINT, then SIGKILL after 30 s).
func startServe(cfg *config, c *corpus, work, cacheDir string) (base string, pid int, stop func(), err error) {
	logPath := filepath.Join(work, "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", 0, nil, err
	}
	args := append(append([]string{"serve"}, cfg.liveiso.imageArgs(c.Root, cacheDir)...), "--listen", "127.0.0.1:0")
	serve := exec.Command(cfg.liveiso.bin, args...)
	serve.Stdout, serve.Stderr = logf, logf
	if err := serve.Start(); err != nil {
		logf.Close()
		return "", 0, nil, err
	}
	exited := make(chan struct{})
	go func() { serve.Wait(); close(exited) }()
	stop = func() {
		serve.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			serve.Process.Kill()
			<-exited
		}
		logf.Close()
	}
	if base, err = waitServeURL(logPath, exited, 10*time.Minute); err != nil {
		stop()
		return "", 0, nil, err
	}
	return base, serve.Process.Pid, stop, nil
}
