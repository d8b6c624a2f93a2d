package httpserve

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/liveiso/liveiso/live"
)

// withUKI gives g a UKI of random bytes.
func withUKI(g *live.Snapshot, size int) *live.Snapshot {
	r := rand.New(rand.NewPCG(g.Generation, 2))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	g.UKI, g.UKISize = bytes.NewReader(b), int64(size)
	return g
}

func TestUKIFile(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{}, nil)
	g := withUKI(fakeGen(1, 4096), 50_000)
	k.Publish(g)
	want := genBytes(t, g, "uki.efi")
	url := ts.URL + "/g/1-" + testRun + "/uki.efi"
	etag := `"` + testRun + `-1"`

	resp, body := get(t, url)
	if resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatalf("GET uki.efi: %d, %d bytes, want 200 and the UKI's %d bytes", resp.StatusCode, len(body), len(want))
	}
	for h, v := range map[string]string{
		"Etag":           etag,
		"Cache-Control":  immutable,
		"Last-Modified":  "Tue, 01 Dec 2026 10:00:01 GMT",
		"Content-Type":   "application/efi",
		"Content-Length": "50000",
	} {
		if got := resp.Header.Get(h); got != v {
			t.Errorf("uki.efi: %s = %q, want %q", h, got, v)
		}
	}
	resp, body = get(t, url, "Range", "bytes=1000-1999")
	if resp.StatusCode != 206 || !bytes.Equal(body, want[1000:2000]) || resp.Header.Get("Content-Range") != "bytes 1000-1999/50000" {
		t.Errorf("Range of uki.efi: %d %q, %d bytes, want 206 and bytes 1000-1999", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
	}
	if resp, _ := get(t, url, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match of uki.efi: %d, want 304", resp.StatusCode)
	}

	resp, body = get(t, ts.URL+"/uki.efi")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/efi" || !bytes.Equal(body[:len(want)], want) {
		t.Errorf("/uki.efi: %d (%q), want 200 with generation 1's UKI", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	_, page := get(t, ts.URL+"/")
	if !bytes.Contains(page, []byte(`/uki.efi</code>`)) {
		t.Errorf("the index page does not list the UKI:\n%s", page)
	}

	// Generation 2 has no UKI (systemd-stub went away): its uki.efi and
	// the plain name are 404, while generation 1's is still served.
	k.Publish(fakeGen(2, 4096))
	for _, u := range []string{ts.URL + "/g/2-" + testRun + "/uki.efi", ts.URL + "/uki.efi"} {
		resp, body := get(t, u)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "generation 2 has no unified kernel image") || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s without a UKI: %d %q (%q), want 404 saying so, no-store", u, resp.StatusCode, body, resp.Header.Get("Cache-Control"))
		}
	}
	if resp, body := get(t, url); resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Errorf("generation 1's uki.efi after generation 2: %d, %d bytes", resp.StatusCode, len(body))
	}
	if _, page := get(t, ts.URL+"/"); bytes.Contains(page, []byte("/uki.efi</code>")) {
		t.Errorf("the index page lists a UKI generation 2 does not have:\n%s", page)
	}
}

// With a UKI, /boot.ipxe chains it on UEFI and boots the kernel and initrd
// on BIOS with exactly the lines it has without one.
func TestBootScriptUEFIBranch(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{Append: "  console=ttyS0   quiet "}, nil)
	bios := func(n int) string {
		gen := fmt.Sprintf("%s/g/%d-%s", ts.URL, n, testRun)
		return "kernel " + gen + "/vmlinuz initrd=initrd.img console=ttyS0   quiet\n" +
			"initrd " + gen + "/initrd.img\n" +
			"boot\n"
	}

	k.Publish(fakeGen(7, 4096))
	if _, body := get(t, ts.URL+"/boot.ipxe"+clientQuery); string(body) != "#!ipxe\n# liveiso generation 7\n"+bios(7) {
		t.Errorf("/boot.ipxe without a UKI:\n%s\nwant the kernel and initrd only:\n%s", body, bios(7))
	}

	k.Publish(withUKI(fakeGen(8, 4096), 1000))
	want := "#!ipxe\n# liveiso generation 8\n" +
		"iseq ${platform} efi && goto uefi ||\n" +
		bios(8) +
		":uefi\n" +
		"chain " + ts.URL + "/g/8-" + testRun + "/uki.efi console=ttyS0 quiet\n"
	if _, body := get(t, ts.URL+"/boot.ipxe"+clientQuery); string(body) != want {
		t.Errorf("/boot.ipxe with a UKI:\n%s\nwant:\n%s", body, want)
	}

	// Without --append the chain line has no trailing blank.
	k2, _, ts2 := testServer(t, 2, Options{}, nil)
	k2.Publish(withUKI(fakeGen(1, 4096), 1000))
	if _, body := get(t, ts2.URL+"/boot.ipxe"+clientQuery); !strings.HasSuffix(string(body), "\nchain "+ts2.URL+"/g/1-"+testRun+"/uki.efi\n") {
		t.Errorf("/boot.ipxe with a UKI and no --append:\n%s", body)
	}
}

// An arm64 generation's /boot.ipxe refuses an iPXE built for another
// architecture, saying so; on arm64 it boots as any other.
func TestBootScriptArm64(t *testing.T) {
	k, _, ts := testServer(t, 2, Options{Append: "console=ttyAMA0"}, nil)
	g := withUKI(fakeGen(3, 4096), 1000)
	g.Status.Arch = "arm64"
	k.Publish(g)
	gen := ts.URL + "/g/3-" + testRun
	want := "#!ipxe\n# liveiso generation 3\n" +
		"iseq ${buildarch} arm64 || goto wrongarch\n" +
		"iseq ${platform} efi && goto uefi ||\n" +
		"kernel " + gen + "/vmlinuz initrd=initrd.img console=ttyAMA0\n" +
		"initrd " + gen + "/initrd.img\n" +
		"boot\n" +
		":uefi\n" +
		"chain " + gen + "/uki.efi console=ttyAMA0\n" +
		":wrongarch\n" +
		"echo liveiso: the kernel is for arm64, this iPXE for ${buildarch}\n" +
		"exit 1\n"
	if _, body := get(t, ts.URL+"/boot.ipxe?whole=1&"+clientQuery[1:]); string(body) != want {
		t.Errorf("/boot.ipxe?whole=1 of an arm64 generation:\n%s\nwant:\n%s", body, want)
	}
}

// The chunked script of an arm64 generation has the same guard as the
// whole-initrd one, around the same kernel and initrd lines as x86-64's.
func TestChunkScriptArm64(t *testing.T) {
	_, s, _ := testServer(t, 2, Options{Append: "console=ttyAMA0"}, nil)
	g := fakeGen(3, 4096)
	x86 := chunkScript(s, "http://h", g, []string{"k0", "k1"}, "kk")
	g.Status.Arch = "arm64"
	got := chunkScript(s, "http://h", g, []string{"k0", "k1"}, "kk")
	body := strings.TrimPrefix(x86, "#!ipxe\n# liveiso generation 3, 2 chunks\n")
	want := "#!ipxe\n# liveiso generation 3, 2 chunks\n" +
		"iseq ${buildarch} arm64 || goto wrongarch\n" + body +
		":wrongarch\necho liveiso: the kernel is for arm64, this iPXE for ${buildarch}\nexit 1\n"
	if got != want {
		t.Errorf("chunked script of an arm64 generation:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(body, "kernel http://h/c/kk initrd=c0 initrd=c1 console=ttyAMA0\n") {
		t.Errorf("x86-64 chunked script:\n%s", x86)
	}
}
