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

	resp, _ = get(t, ts.URL+"/uki.efi")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/g/1-"+testRun+"/uki.efi" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("/uki.efi: %d to %q (%q), want 302 to generation 1's, no-store", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"))
	}
	_, page := get(t, ts.URL+"/")
	if !bytes.Contains(page, []byte(`<a href="/g/1-`+testRun+`/uki.efi">uki.efi</a> (50000 bytes)`)) {
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
	if _, page := get(t, ts.URL+"/"); bytes.Contains(page, []byte("uki.efi")) {
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
	if _, body := get(t, ts.URL+"/boot.ipxe"); string(body) != "#!ipxe\n# liveiso generation 7\n"+bios(7) {
		t.Errorf("/boot.ipxe without a UKI:\n%s\nwant the kernel and initrd only:\n%s", body, bios(7))
	}

	k.Publish(withUKI(fakeGen(8, 4096), 1000))
	want := "#!ipxe\n# liveiso generation 8\n" +
		"iseq ${platform} efi && goto uefi ||\n" +
		bios(8) +
		":uefi\n" +
		"chain " + ts.URL + "/g/8-" + testRun + "/uki.efi console=ttyS0 quiet\n"
	if _, body := get(t, ts.URL+"/boot.ipxe"); string(body) != want {
		t.Errorf("/boot.ipxe with a UKI:\n%s\nwant:\n%s", body, want)
	}

	// Without --append the chain line has no trailing blank.
	k2, _, ts2 := testServer(t, 2, Options{}, nil)
	k2.Publish(withUKI(fakeGen(1, 4096), 1000))
	if _, body := get(t, ts2.URL+"/boot.ipxe"); !strings.HasSuffix(string(body), "\nchain "+ts2.URL+"/g/1-"+testRun+"/uki.efi\n") {
		t.Errorf("/boot.ipxe with a UKI and no --append:\n%s", body)
	}
}
