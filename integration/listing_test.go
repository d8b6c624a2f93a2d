package integration

import (
	"testing"

	"github.com/liveiso/liveiso/internal/testenv"
)

// A host listing survives its text form, which is what the guest prints.
func TestListingRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir)
	entries, err := testenv.ListTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	console := "kernel noise\r\n" + testenv.ListBegin + "\r\n"
	for _, e := range entries {
		console += e.String() + "\r\n"
	}
	console += testenv.ListEnd + "\r\n"
	got, err := testenv.GuestListing(console)
	if err != nil {
		t.Fatal(err)
	}
	if diff := testenv.DiffListings(entries, got); len(diff) > 0 {
		t.Fatalf("round trip differs:\n%v", diff)
	}

	byPath := map[string]testenv.ListEntry{}
	for _, e := range entries {
		byPath[e.Path] = e
	}
	for path, want := range map[string]string{
		".":                 "d 0755",
		"docs":              "d 1777",
		"bin/setuid-tool":   "f 4755",
		"bin/dangling-link": "l 0777",
		"docs/empty":        "f 0600",
		"a/b/c/d/e/f/g/h/i": "d 0755",
	} {
		e, ok := byPath[path]
		if !ok {
			t.Errorf("no entry for %s", path)
			continue
		}
		if got := e.String()[:6]; got != want {
			t.Errorf("%s: type and mode %q, want %q", path, got, want)
		}
	}
	if e := byPath["bin/dangling-link"]; e.Target != "no/such/file" {
		t.Errorf("dangling link target %q", e.Target)
	}
	if e := byPath["docs/empty"]; e.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("sha256 of an empty file: %s", e.SHA256)
	}
}

func TestDiffListings(t *testing.T) {
	a := testenv.ListEntry{Path: "a", Type: 'f', Perm: 0o644, SHA256: "x"}
	b := testenv.ListEntry{Path: "b", Type: 'd', Perm: 0o755, SHA256: "-"}
	b2 := b
	b2.Perm = 0o700
	c := testenv.ListEntry{Path: "c", Type: 'l', Perm: 0o777, SHA256: "-", Target: "a"}
	diff := testenv.DiffListings([]testenv.ListEntry{a, b}, []testenv.ListEntry{b2, c})
	want := []string{
		"missing:    " + a.String(),
		"want:       " + b.String(),
		"got:        " + b2.String(),
		"unexpected: " + c.String(),
	}
	if len(diff) != len(want) {
		t.Fatalf("diff %q, want %q", diff, want)
	}
	for i := range want {
		if diff[i] != want[i] {
			t.Errorf("diff[%d] = %q, want %q", i, diff[i], want[i])
		}
	}
	if d := testenv.DiffListings([]testenv.ListEntry{a, b}, []testenv.ListEntry{a, b}); d != nil {
		t.Errorf("equal listings differ: %q", d)
	}
}

func TestParseListEntryRejectsGarbage(t *testing.T) {
	for _, line := range []string{
		"",
		"f 0644 0:0 3",
		"f 09 0:0 3 - x",
		"f 0644 00 3 - x",
		"l 0777 0:0 0 - link-without-target",
		"[   1.234] sr 1:0:0:0: Attached scsi CD-ROM sr0",
	} {
		if e, err := testenv.ParseListEntry(line); err == nil {
			t.Errorf("ParseListEntry(%q) = %v, want an error", line, e)
		}
	}
}
