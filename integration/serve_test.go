package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liveiso/liveiso/live"

	"github.com/liveiso/liveiso/internal/testenv"
)

// liveServe is a running `liveiso serve` of a fixture on a loopback port.
type liveServe struct {
	url     string // "http://127.0.0.1:PORT/"
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

var serveURLRe = regexp.MustCompile(`msg="serving over HTTP[^"]*" url=(\S+)`)

// startServe starts liveiso serve of fx on a free loopback port and waits
// for its first generation.
func startServe(t *testing.T, fx fixture, appendArgs string, more ...string) *liveServe {
	t.Helper()
	bin, err := liveisoBin()
	if err != nil {
		t.Fatalf("build liveiso: %v", err)
	}
	s := &liveServe{logPath: filepath.Join(t.TempDir(), "serve.log"), exited: make(chan struct{})}
	args := append([]string{"serve"}, fx.imageArgs(t, appendArgs)...)
	args = append(args, "--listen", "127.0.0.1:0", "--verbose")
	s.cmd = exec.Command(bin, append(args, more...)...)
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("liveiso serve log (last lines):\n%s", s.logTail(30))
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for s.url == "" {
		if m := serveURLRe.FindStringSubmatch(s.logTail(50)); m != nil {
			s.url = m[1]
			break
		}
		select {
		case <-s.exited:
			t.Fatalf("liveiso serve exited:\n%s", s.logTail(30))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("liveiso serve did not start serving within 2 minutes:\n%s", s.logTail(30))
		}
	}
	return s
}

func (s *liveServe) stop(t *testing.T) { stopDaemon(t, "liveiso serve", s.cmd, s.exited) }

func (s *liveServe) logTail(n int) string { return fileTail(s.logPath, n) }

// port is the port the server listens on.
func (s *liveServe) port() string {
	return strings.TrimSuffix(s.url[strings.LastIndexByte(s.url, ':')+1:], "/")
}

func (s *liveServe) status(t *testing.T) live.Status {
	t.Helper()
	var st live.Status
	resp, err := http.Get(s.url + "status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("status.json: %v", err)
	}
	return st
}

// waitNext waits for a ready generation newer than gen.
func (s *liveServe) waitNext(t *testing.T, gen uint64) live.Status {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := s.status(t)
		if st.Generation > gen && st.State == live.StateReady {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for a generation after %d; status %+v", gen, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// iPXE in QEMU (the e1000's iPXE ROM of Debian's ipxe-qemu, user-mode
// networking reaching the host's loopback as 10.0.2.2) netboots the fixture
// from liveiso serve, then boots the new marker after an edit and a reset:
// through /boot.ipxe (kernel and initrd over HTTP) and through
// /sanboot.ipxe (the CD image as an HTTP SAN disk, read with Range requests).
func TestServeNetboot(t *testing.T) {
	t.Parallel()
	for _, script := range []string{"boot.ipxe", "sanboot.ipxe"} {
		t.Run(script, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, "netboot "+script)
			s := startServe(t, fx, testenv.ArgWait)
			vm := bootToMarker(t, testenv.VMOptions{
				Boot: "n",
				NIC:  "user,model=e1000,bootfile=http://10.0.2.2:" + s.port() + "/" + script,
			}, fx.marker)
			if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestWaiting+"$"), time.Minute); err != nil {
				t.Fatal(err)
			}
			before := s.status(t)
			marker := "netboot " + script + " after the edit"
			writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte(marker+"\n"))
			st := s.waitNext(t, before.Generation)
			t.Logf("generation %d ready; resetting the guest", st.Generation)
			if err := vm.SystemReset(); err != nil {
				t.Fatal(err)
			}
			if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
				t.Fatalf("after the reset: %v", err)
			}
			if !strings.Contains(s.logTail(100), fmt.Sprintf("generation=%d", st.Generation)) {
				t.Errorf("the log does not say the guest read generation %d:\n%s", st.Generation, s.logTail(20))
			}
		})
	}
}

// rangeRead is one client read: the generation's URL it was sent to, the
// range and a hash of the bytes.
type rangeRead struct {
	genURL   string
	off, n   int64
	checksum [32]byte
}

// 32 clients read /image.iso in random ranges, following the redirect,
// while the rootfs changes every 100 ms: each client's bytes are those of
// the generation it was sent to (as one whole download of that generation
// has them), a dropped generation answers 410 and a kept one still
// answers, and once quiet the image is what liveiso build writes.
func TestServeConsistentUnderLoad(t *testing.T) {
	t.Parallel()
	const (
		clients    = 32
		keep       = 8
		maxRounds  = 2000 // per client, 10 ms apart: the reads spread over the generations
		minGens    = keep + 4
		loadLimit  = time.Minute
		maxReadLen = 256 << 10
	)
	fx := newFixture(t, "load-0")
	s := startServe(t, fx, "", "--keep", fmt.Sprint(keep))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the editor
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte(fmt.Sprintf("load-%d\n", i)))
			writeAtomic(t, filepath.Join(fx.rootfs, "payload.bin"), randomBytes(t, 50_000+i*4099))
		}
	}()

	// The archiver downloads every generation it sees whole.
	var archiveMu sync.Mutex
	archive := map[string][]byte{}
	var archiving sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			resp, err := noRedirect.Get(s.url + "image.iso")
			if err != nil {
				continue
			}
			resp.Body.Close()
			genURL := s.url + strings.TrimPrefix(resp.Header.Get("Location"), "/")
			archiveMu.Lock()
			_, seen := archive[genURL]
			if !seen {
				archive[genURL] = nil
			}
			archiveMu.Unlock()
			if seen {
				continue
			}
			archiving.Add(1)
			go func() {
				defer archiving.Done()
				resp, err := http.Get(genURL)
				if err != nil {
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err == nil && resp.StatusCode == http.StatusOK {
					archiveMu.Lock()
					archive[genURL] = b
					archiveMu.Unlock()
				}
			}()
		}
	}()

	reads := make([][]rangeRead, clients)
	errs := make(chan error, clients)
	var readers sync.WaitGroup
	for c := range clients {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for round := 0; round < maxRounds; round++ {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				off := rng.Int64N(12 << 20) // the image is about 14 MB
				n := 1 + rng.Int64N(maxReadLen)
				req, _ := http.NewRequest("GET", s.url+"image.iso", nil)
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
				resp, err := http.DefaultClient.Do(req) // follows the redirect, with the Range
				if err != nil {
					errs <- fmt.Errorf("client %d: %v", c, err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					errs <- fmt.Errorf("client %d: reading %s: %v", c, resp.Request.URL, err)
					return
				}
				if resp.StatusCode != http.StatusPartialContent || int64(len(b)) != n {
					errs <- fmt.Errorf("client %d: %s bytes %d-%d: status %d, %d bytes", c, resp.Request.URL, off, off+n-1, resp.StatusCode, len(b))
					return
				}
				reads[c] = append(reads[c], rangeRead{resp.Request.URL.String(), off, n, sha256.Sum256(b)})
			}
		}()
	}

	// Load until enough generations have passed (or the time is up).
	first := s.status(t).Generation
	deadline := time.Now().Add(loadLimit)
	for s.status(t).Generation < first+minGens && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	readers.Wait()
	wg.Wait()
	archiving.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	last := s.status(t)
	if last.Generation < first+minGens {
		t.Errorf("only generations %d to %d in %v of edits", first, last.Generation, loadLimit)
	}

	verified, unverified, total := 0, 0, 0
	gens := map[string]bool{}
	for c, rs := range reads {
		for _, r := range rs {
			total++
			gens[r.genURL] = true
			img := archive[r.genURL]
			if img == nil {
				unverified++ // the archiver missed that generation
				continue
			}
			if r.off+r.n > int64(len(img)) || sha256.Sum256(img[r.off:r.off+r.n]) != r.checksum {
				t.Fatalf("client %d: bytes %d-%d of %s are not that generation's", c, r.off, r.off+r.n-1, r.genURL)
			}
			verified++
		}
	}
	t.Logf("%d range reads from %d clients over %d generations (%d to %d): %d checked against whole downloads, %d of generations the archiver missed",
		total, clients, len(gens), first, last.Generation, verified, unverified)
	if total == 0 || verified < total*9/10 || len(gens) < 3 {
		t.Errorf("too little was checked: %d of %d reads, %d generations", verified, total, len(gens))
	}

	// Once the last edit's generation is out, kept generations still answer
	// with their bytes; dropped ones are gone and name the current one.
	var cur live.Status
	for i := 0; i < 100; i++ {
		a := s.status(t)
		time.Sleep(500 * time.Millisecond) // longer than the watcher's debounce
		if b := s.status(t); a.State == live.StateReady && b.Generation == a.Generation {
			cur = b
			break
		}
	}
	if cur.Generation == 0 {
		t.Fatal("the generations did not settle within 50 s of the last edit")
	}
	checked := map[bool]int{}
	curPath := regexp.MustCompile(fmt.Sprintf(`/g/%d-[0-9a-f]+/image\.iso`, cur.Generation))
	for genURL, img := range archive {
		var n uint64
		if _, err := fmt.Sscanf(genURL[strings.Index(genURL, "/g/"):], "/g/%d-", &n); err != nil {
			t.Fatalf("generation URL %s: %v", genURL, err)
		}
		resp, err := http.Get(genURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		kept := n+keep > cur.Generation
		checked[kept]++
		switch {
		case kept && img != nil && (resp.StatusCode != 200 || !bytes.Equal(body, img)):
			t.Errorf("kept generation %d: status %d, %d bytes, want 200 and the bytes it had", n, resp.StatusCode, len(body))
		case !kept && (resp.StatusCode != http.StatusGone || !curPath.Match(body)):
			t.Errorf("dropped generation %d: status %d %q, want 410 naming generation %d", n, resp.StatusCode, body, cur.Generation)
		}
	}

	if checked[false] == 0 || checked[true] == 0 {
		t.Errorf("checked %d kept and %d dropped generations, want some of each", checked[true], checked[false])
	}

	// Once quiet, the current generation is liveiso build of the same tree.
	resp, err := http.Get(s.url + "image.iso")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	built := readFile(t, fx.build(t, ""))
	if !bytes.Equal(served, built) {
		t.Fatalf("generation %d over HTTP (%d bytes) differs from liveiso build of the same tree (%d bytes)", cur.Generation, len(served), len(built))
	}
}

// liveiso mount --listen serves the mount's generations over HTTP too: the
// same generation, the same bytes as MOUNTPOINT/image.iso up to the image's
// size, and a new generation reaches both.
func TestMountListen(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "mount and serve")
	m := startMount(t, fx, "", "", "", "--listen", "127.0.0.1:0")
	var url string
	for i := 0; i < 100 && url == ""; i++ {
		if mm := serveURLRe.FindStringSubmatch(m.logTail(100)); mm != nil {
			url = mm[1]
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if url == "" {
		t.Fatalf("liveiso mount --listen logged no URL:\n%s", m.logTail(30))
	}
	s := &liveServe{url: url}
	for round := 0; round < 2; round++ {
		st, _ := m.status()
		if hs := s.status(t); hs.Generation != st.Generation {
			t.Errorf("status.json over HTTP says generation %d, the mount's %d", hs.Generation, st.Generation)
		}
		// The HTTP side hears of a generation just after status.json.
		var served []byte
		want := fmt.Sprintf("/g/%d-", st.Generation)
		for i := 0; ; i++ {
			resp, err := http.Get(url + "image.iso")
			if err != nil {
				t.Fatal(err)
			}
			served, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(resp.Request.URL.Path, want) {
				break
			}
			if i == 50 {
				t.Fatalf("/image.iso goes to %s, want generation %d", resp.Request.URL.Path, st.Generation)
			}
			time.Sleep(20 * time.Millisecond)
		}
		mounted := readFile(t, m.image())
		if int64(len(served)) != st.ImageSize || !bytes.Equal(served, mounted[:st.ImageSize]) {
			t.Fatalf("generation %d over HTTP (%d bytes) is not MOUNTPOINT/image.iso's first %d bytes", st.Generation, len(served), st.ImageSize)
		}
		writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("mount and serve, edited\n"))
		m.waitNext(t, st.Generation)
	}
}
