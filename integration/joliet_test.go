package integration

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/liveiso/liveiso/internal/testenv"
)

// jolietListing is what the Joliet tree holds of a host listing: the
// files and directories (no symlinks: Joliet has none), under their Joliet
// names, with sizes and contents; Joliet records no owners or modes.
func jolietListing(entries []testenv.ListEntry) []testenv.ListEntry {
	var out []testenv.ListEntry
	for _, e := range entries {
		if e.Type != 'f' && e.Type != 'd' {
			continue
		}
		e.Path = jolietPath(e.Path)
		e.Perm, e.UID, e.GID = 0, 0, 0
		if e.Type == 'd' {
			e.Size = 0
		}
		out = append(out, e)
	}
	return out
}

// longExtraName is writeExtraTree's longest name.
var longExtraName = strings.Repeat("VeryLongMixedCaseName", 10) + ".tar.gz"

// jolietPath maps writeExtraTree's paths to Joliet's: ALLCAPS.TXT and
// allcaps.txt, one name to a reader that ignores case as Joliet readers
// do, are numbered (ALLCAPS0.TXT, allcaps1.txt); a name of more than
// 64 characters and its dot keeps its extension (after the last dot; the
// tree's long names have extensions of at most three characters) and as
// much of the rest as makes 64 characters, as xorriso cuts it. The long
// names are ASCII.
func jolietPath(p string) string {
	parts := strings.Split(p, "/")
	for i, n := range parts {
		switch n {
		case "ALLCAPS.TXT":
			parts[i] = "ALLCAPS0.TXT"
		case "allcaps.txt":
			parts[i] = "allcaps1.txt"
		}
		if utf8.RuneCountInString(n) > 65 {
			dot := strings.LastIndex(n, ".")
			ext := n[dot+1:]
			parts[i] = n[:64-len(ext)] + "." + ext
		}
	}
	return strings.Join(parts, "/")
}

// The image has a Joliet tree by default: the build says so and warns once
// for each name Joliet cannot hold as it is; isoinfo -J, xorriso without
// Rock Ridge, 7z and bsdtar list the --extra tree with its long mixed-case
// names; and the guest's own isofs, mounted with -o norock, reads the same
// files with the same bytes.
func TestJolietGuestReadsItsCD(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "joliet "+time.Now().Format(time.RFC3339Nano))
	extra := filepath.Join(t.TempDir(), "extra")
	writeExtraTree(t, extra)
	host, err := testenv.ListTree(extra)
	if err != nil {
		t.Fatal(err)
	}
	want := jolietListing(onlyExtra(host))

	img := filepath.Join(t.TempDir(), "image.iso")
	args := append([]string{"build", "-o", img}, fx.imageArgs(t, testenv.ArgMountCD+" "+testenv.ArgNoRock)...)
	args = append(args, "--extra", extra)
	stdout, stderr, err := liveiso(t, args...)
	if err != nil {
		t.Fatalf("liveiso %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	if !strings.Contains(stdout, ", Joliet on,") {
		t.Errorf("the build summary does not say Joliet is on:\n%s", stdout)
	}
	// One warning per name: the two long ones, the two that differ only in
	// case, and each of the five symlinks the Joliet tree leaves out.
	var warnings []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "warning: joliet: ") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != 9 || !slices.ContainsFunc(warnings, func(w string) bool {
		return strings.Contains(w, longExtraName+`: stored as "`+longExtraName[:62]+`.gz": longer than 64 characters`)
	}) {
		t.Errorf("Joliet warnings:\n%s\nwant 9, one for %s", strings.Join(warnings, "\n"), longExtraName)
	}

	var names []string
	for _, e := range want {
		names = append(names, e.Path)
	}
	if d := tool(t, "isoinfo", "-d", "-i", img); !strings.Contains(d, "Joliet with UCS level 3 found") {
		t.Errorf("isoinfo -d finds no Joliet:\n%s", d)
	}
	isoinfo := tool(t, "isoinfo", "-J", "-l", "-i", img)
	xorriso := tool(t, "xorriso", "-abort_on", "NEVER", "-read_fs", "norock", "-indev", img, "-find", "/", "-exec", "lsdl")
	sevenZip := tool(t, "7z", "l", img)
	bsdtar := tool(t, "bsdtar", "--options", "iso9660:!rockridge", "-tf", img)
	for _, p := range names {
		base := filepath.Base(p)
		// isoinfo (genisoimage 1.1.11) converts names to an 8-bit
		// charset at best: it cannot show the Greek one.
		if isASCII(base) && !strings.Contains(isoinfo, "  "+base+" \n") {
			t.Errorf("isoinfo -J -l does not list %q", base)
		}
		if !strings.Contains(xorriso, "'/"+strings.ReplaceAll(p, "'", `'"'"'`)+"'") {
			t.Errorf("xorriso -read_fs norock does not list %q", p)
		}
		if !strings.Contains(sevenZip, "  "+p+"\n") {
			t.Errorf("7z l does not list %q", p)
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p) + `/?$`).MatchString(bsdtar) {
			t.Errorf("bsdtar -tf without Rock Ridge does not list %q", p)
		}
	}
	if t.Failed() {
		t.Logf("isoinfo -J -l:\n%s\nxorriso:\n%s\n7z l:\n%s\nbsdtar -tf:\n%s", isoinfo, xorriso, sevenZip, bsdtar)
	}

	vm := bootToMarker(t, testenv.VMOptions{CDROM: img, NoReboot: true}, fx.marker)
	line, err := vm.WaitForLine(regexp.MustCompile("^("+testenv.ListEnd+"|"+testenv.GuestError+".*)$"), listTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if line != testenv.ListEnd {
		vm.Fatalf(t, "guest: %s", line)
	}
	all, err := testenv.GuestListing(vm.Console())
	if err != nil {
		vm.Fatalf(t, "%v", err)
	}
	got := jolietListing(onlyExtra(all))
	if diff := testenv.DiffListings(want, got); len(diff) > 0 {
		vm.Fatalf(t, "the guest's Joliet listing of its CD (mount -o norock) differs from the extra files:\n%s", strings.Join(diff, "\n"))
	}
	// Without Rock Ridge the guest sees no symlink: it reads Joliet, not
	// the primary tree's Rock Ridge.
	for _, e := range all {
		if e.Type == 'l' {
			vm.Fatalf(t, "the guest sees a symlink with -o norock: %v", e)
		}
	}
}

// --no-joliet leaves the Joliet tree out, and the build says so.
func TestNoJoliet(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "no joliet")
	img := filepath.Join(t.TempDir(), "image.iso")
	args := append([]string{"build", "-o", img, "--no-joliet"}, fx.imageArgs(t, "")...)
	stdout, stderr, err := liveiso(t, args...)
	if err != nil {
		t.Fatalf("liveiso %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	if !strings.Contains(stdout, ", Joliet off,") {
		t.Errorf("the build summary does not say Joliet is off:\n%s", stdout)
	}
	out, err := exec.Command("isoinfo", "-d", "-i", img).CombinedOutput()
	if err != nil {
		t.Fatalf("isoinfo -d: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "NO Joliet present") || !strings.Contains(string(out), "Rock Ridge signatures version 1 found") {
		t.Errorf("isoinfo -d of a --no-joliet image:\n%s", out)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// status.json of a live mount says whether the image has a Joliet tree,
// and liveiso status prints it.
func TestJolietInStatus(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		want bool
	}{{"default", nil, true}, {"no-joliet", []string{"--no-joliet"}, false}} {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, "joliet status")
			m := startMount(t, fx, "", "", "", c.args...)
			s, ok := m.status()
			if !ok {
				t.Fatal("no status.json")
			}
			if s.Joliet != c.want {
				t.Errorf("status.json joliet %v, want %v", s.Joliet, c.want)
			}
			stdout, stderr, err := liveiso(t, "status", m.dir)
			want := map[bool]string{true: "joliet:      on\n", false: "joliet:      off\n"}[c.want]
			if err != nil || !strings.Contains(stdout, want) {
				t.Errorf("liveiso status: %v, want %q in\n%s%s", err, want, stdout, stderr)
			}
		})
	}
}
