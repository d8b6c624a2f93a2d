package integration

import (
	"bytes"
	"fmt"
	"github.com/liveiso/liveiso/internal/testenv"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fleetBoot is what one client fetched by following /boot.ipxe.
type fleetBoot struct {
	generation uint64
	kernel     []byte
	initrd     []byte
	urls       map[string]int64 // chunk URL path: bytes
	err        error
}

var (
	scriptGenRe  = regexp.MustCompile(`(?m)^# liveiso generation (\d+)`)
	kernelLineRe = regexp.MustCompile(`(?m)^kernel (\S+)`)
	initrdLineRe = regexp.MustCompile(`(?m)^initrd --name c\d+ (\S+)$`)
	chainLineRe  = regexp.MustCompile(`(?m)^chain (\S+)$`)
)

// followBoot does what iPXE does with base+"boot.ipxe": chain the script
// again with the machine's parameters, then fetch the kernel and the
// initrds it names, the initrds one after another.
func followBoot(c *http.Client, base, mac string) fleetBoot {
	b := fleetBoot{urls: map[string]int64{}}
	get := func(url string) []byte {
		if b.err != nil {
			return nil
		}
		resp, err := c.Get(url)
		if err != nil {
			b.err = err
			return nil
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		b.err = err
		return body
	}
	first := get(base + "boot.ipxe")
	m := chainLineRe.FindSubmatch(first)
	if m == nil {
		b.err = fmt.Errorf("boot.ipxe without parameters does not chain: %q", first)
		return b
	}
	url := strings.NewReplacer("${net0/mac}", mac, "${platform}", "pcbios", "${buildarch}", "i386").Replace(string(m[1]))
	script := string(get(url))
	gm, km := scriptGenRe.FindStringSubmatch(script), kernelLineRe.FindStringSubmatch(script)
	if gm == nil || km == nil {
		b.err = fmt.Errorf("not a boot script: %q (%v)", script, b.err)
		return b
	}
	b.generation, _ = strconv.ParseUint(gm[1], 10, 64)
	b.kernel = get(km[1])
	b.urls[km[1]] = int64(len(b.kernel))
	for _, im := range initrdLineRe.FindAllStringSubmatch(script, -1) {
		part := get(im[1])
		b.urls[im[1]] = int64(len(part))
		b.initrd = append(b.initrd, part...)
	}
	return b
}

// originCounts reads the origin's /metrics: bytes and requests by route and
// generation label ("" for none).
func originCounts(t *testing.T, s *liveServe) (bytes, requests map[string]int64) {
	t.Helper()
	body := string(httpGet(t, s.url+"metrics"))
	bytes, requests = map[string]int64{}, map[string]int64{}
	re := regexp.MustCompile(`(?m)^liveiso_http_(response_bytes|requests)_total\{route="(\w+)"(?:,generation="(\d+)")?\} (\d+)$`)
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		v, _ := strconv.ParseInt(m[4], 10, 64)
		k := m[2] + "/" + m[3]
		if m[1] == "requests" {
			requests[k] = v
		} else {
			bytes[k] = v
		}
	}
	return bytes, requests
}

// extractFromImage is a file of an ISO image, read back by xorriso.
func extractFromImage(t *testing.T, img, path string) []byte {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(path))
	tool(t, "xorriso", "-abort_on", "FAILURE", "-osirrox", "on", "-indev", img, "-extract", path, dst)
	return readFile(t, dst)
}

// A fleet behind a cache: nginx with proxy_cache (CacheConfig, nothing
// liveiso-specific in it) in front of liveiso serve. 16 clients follow
// /boot.ipxe through it at once, and one iPXE guest boots through it; then
// a one-file edit and the same again. The origin (by its /metrics) sends
// the first generation's kernel and chunks once each, whatever the number
// of clients, and after the edit only the chunks the edit changed; every
// client's initrd is liveiso build's initrd of its generation, byte for
// byte.
func TestFleetThroughCache(t *testing.T) {
	t.Parallel()
	const clients = 16
	fx := newFixture(t, "fleet behind a cache")
	s := startServe(t, fx, testenv.ArgWait)
	cache, err := testenv.StartCache(t.TempDir(), strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Stop)
	cachePort := cache.URL[strings.LastIndexByte(cache.URL, ':')+1 : len(cache.URL)-1]
	hc := &http.Client{Timeout: 5 * time.Minute}

	// boot runs the clients at once, beside the guest's boot.
	boot := func(round int, guest func()) []fleetBoot {
		t.Helper()
		out := make([]fleetBoot, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i] = followBoot(hc, cache.URL, fmt.Sprintf("02:00:00:00:%02x:%02x", round, i))
			}()
		}
		guest()
		wg.Wait()
		return out
	}
	check := func(boots []fleetBoot, gen uint64) map[string]int64 {
		t.Helper()
		img := fx.build(t, testenv.ArgWait)
		wantInitrd, wantKernel := extractFromImage(t, img, "/isolinux/initrd.img"), extractFromImage(t, img, "/isolinux/vmlinuz")
		urls := map[string]int64{}
		for i, b := range boots {
			switch {
			case b.err != nil:
				t.Errorf("client %d: %v", i, b.err)
			case b.generation != gen:
				t.Errorf("client %d booted generation %d, want %d", i, b.generation, gen)
			case !bytes.Equal(b.initrd, wantInitrd):
				t.Errorf("client %d: its initrd (%d bytes) is not liveiso build's (%d bytes)", i, len(b.initrd), len(wantInitrd))
			case !bytes.Equal(b.kernel, wantKernel):
				t.Errorf("client %d: its kernel is not liveiso build's", i)
			}
			for u, n := range b.urls {
				urls[strings.TrimPrefix(u, strings.TrimSuffix(cache.URL, "/"))] = n
			}
		}
		return urls
	}
	sum := func(urls map[string]int64) (n int64) {
		for _, v := range urls {
			n += v
		}
		return n
	}

	// Generation 1.
	var vm *testenv.VM
	boots := boot(1, func() {
		vm = bootToMarker(t, testenv.VMOptions{
			Boot: "n",
			NIC:  "user,model=e1000,bootfile=http://10.0.2.2:" + cachePort + "/boot.ipxe",
		}, fx.marker)
	})
	gen1 := s.status(t).Generation
	urls1 := check(boots, gen1)
	bytes1, reqs1 := originCounts(t, s)
	g1 := strconv.FormatUint(gen1, 10)
	if got, want := bytes1["chunk/"+g1], sum(urls1); got != want || reqs1["chunk/"+g1] != int64(len(urls1)) {
		t.Errorf("generation %d: the origin sent %d bytes of chunks in %d requests, want each of the %d chunks (%d bytes, the kernel included) once",
			gen1, got, reqs1["chunk/"+g1], len(urls1), want)
	}
	t.Logf("generation %d: %d clients and a guest; the origin sent %d bytes of chunks in %d requests (%d chunks, %d bytes)",
		gen1, clients, bytes1["chunk/"+g1], reqs1["chunk/"+g1], len(urls1), sum(urls1))

	// A one-file edit, and the same again.
	if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestWaiting+"$"), time.Minute); err != nil {
		t.Fatal(err)
	}
	marker := "fleet behind a cache, after the edit"
	writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte(marker+"\n"))
	st := s.waitNext(t, gen1)
	boots = boot(2, func() {
		if err := vm.SystemReset(); err != nil {
			t.Fatal(err)
		}
		if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
			t.Errorf("the guest after the reset: %v", err)
		}
	})
	urls2 := check(boots, st.Generation)
	changed := map[string]int64{}
	for u, n := range urls2 {
		if _, ok := urls1[u]; !ok {
			changed[u] = n
		}
	}
	bytes2, reqs2 := originCounts(t, s)
	g2 := strconv.FormatUint(st.Generation, 10)
	if got, want := bytes2["chunk/"+g2], sum(changed); got != want || reqs2["chunk/"+g2] != int64(len(changed)) || len(changed) == 0 {
		t.Errorf("generation %d: the origin sent %d bytes of chunks in %d requests, want the %d changed chunks (%d bytes) once",
			st.Generation, got, reqs2["chunk/"+g2], len(changed), want)
	}
	if bytes2["chunk/"+g1] != bytes1["chunk/"+g1] || bytes2["generation/"+g1]+bytes2["generation/"+g2] != 0 {
		t.Errorf("the origin sent more than the changed chunks: %v", bytes2)
	}
	t.Logf("generation %d: %d of %d chunks changed (%d of %d bytes); the origin sent %d bytes of chunks in %d requests",
		st.Generation, len(changed), len(urls2), sum(changed), sum(urls2), bytes2["chunk/"+g2], reqs2["chunk/"+g2])
}
