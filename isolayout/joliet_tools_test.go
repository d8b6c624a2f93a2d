package isolayout

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/liveiso/liveiso/isolayout/internal/isoread"
)

// jolietLongName is realTree's long name as the Joliet tree holds it: 60
// characters of name and its 3-character extension, as xorriso cuts it.
var jolietLongName = (strings.Repeat("A Very Long Mixed-Case Name", 5))[:61] + ".TxT"

// jolietNameOf is the Joliet name of a name of realTree: the long one cut,
// the two that differ only in case numbered, the others as they are.
func jolietNameOf(name string) string {
	switch {
	case len(name) > JolietChars+1:
		return jolietLongName
	case name == "Mixed.Case.Name.tar.gz":
		return "Mixed.Case.Name.tar0.gz"
	case name == "mixed.case.name.tar.gz":
		return "mixed.case.name.tar1.gz"
	}
	return name
}

// TestJolietSharesExtents reads the image with the test reader: every file
// of the Joliet tree is the primary tree's file of the same path, with the
// same extents, and every file and directory of the primary tree but the
// symlinks and special files is in the Joliet tree.
func TestJolietSharesExtents(t *testing.T) {
	in, _ := realTree(t, pattern(70_000, 9))
	l, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	img := readBack(t, l)
	if img.Joliet == nil || img.JolietEscapes != "%/E" || img.JolietVolumeID != "LIVEISO" {
		t.Fatalf("Joliet: root %v, escapes %q, volume id %q", img.Joliet, img.JolietEscapes, img.JolietVolumeID)
	}
	var walk func(p, j *isoread.File, path string)
	walk = func(p, j *isoread.File, path string) {
		byName := map[string]*isoread.File{}
		for _, c := range j.Children {
			byName[c.Name] = c
		}
		for _, c := range p.Children {
			name := jolietNameOf(c.Name)
			jc := byName[name]
			delete(byName, name)
			isFile := c.Mode&0o170000 == 0o100000
			switch {
			case !c.IsDir && !isFile:
				if jc != nil {
					t.Errorf("%s/%s: a non-file in the Joliet tree", path, name)
				}
			case jc == nil:
				t.Errorf("%s/%s: not in the Joliet tree", path, c.Name)
			case c.IsDir:
				walk(c, jc, path+"/"+c.Name)
			case c.Size != jc.Size || len(c.Extents) != len(jc.Extents) || c.Size > 0 && c.Extents[0] != jc.Extents[0]:
				t.Errorf("%s/%s: primary %d bytes at %v, Joliet %d at %v", path, c.Name, c.Size, c.Extents, jc.Size, jc.Extents)
			}
		}
		for name := range byName {
			t.Errorf("%s/%s: only in the Joliet tree", path, name)
		}
	}
	walk(img.Root, img.Joliet, "")
	if want := []string{
		"joliet: /abs-link: a symlink, left out",
		"joliet: /link to install: a symlink, left out",
		"joliet: /A Very Long Mixed-Case Name",
		`joliet: /Mixed.Case.Name.tar.gz: stored as "Mixed.Case.Name.tar0.gz": another name`,
		`joliet: /mixed.case.name.tar.gz: stored as "mixed.case.name.tar1.gz": another name`,
	}; len(l.Warnings()) != len(want) {
		t.Errorf("warnings %q, want %d", l.Warnings(), len(want))
	} else {
		for i, w := range want {
			if !strings.HasPrefix(l.Warnings()[i], w) {
				t.Errorf("warning %q, want one starting %q", l.Warnings()[i], w)
			}
		}
	}
}

// TestJolietIndependentReaders hands the image to readers that read Joliet:
// isoinfo -J, xorriso without Rock Ridge, 7z and libarchive (bsdtar,
// with and without Rock Ridge), and checks names and bytes.
func TestJolietIndependentReaders(t *testing.T) {
	in, want := realTree(t, pattern(70_000, 9))
	l, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	img := writeImage(t, l)
	jwant := map[string][]byte{}
	for name, data := range want {
		jwant[jolietNameOf(name)] = data
	}
	names := []string{jolietLongName, "Mixed.Case.Name.tar0.gz", "mixed.case.name.tar1.gz", "with spaces & odd #chars!.txt",
		"private key.pem", "isolinux/initrd.img", "nested/deeper/deepest/leaf.txt", "Docs/README"}

	out := run(t, "isoinfo", "-d", "-i", img)
	if !strings.Contains(out, "Joliet with UCS level 3 found") {
		t.Errorf("isoinfo -d: no Joliet in:\n%s", out)
	}
	out = run(t, "isoinfo", "-J", "-f", "-i", img)
	for _, n := range names {
		if !strings.Contains(out, "/"+n+"\n") {
			t.Errorf("isoinfo -J -f: no %q in:\n%s", n, out)
		}
	}
	if strings.Contains(out, "link to install") {
		t.Errorf("isoinfo -J -f: a symlink in the Joliet tree:\n%s", out)
	}
	out = run(t, "isoinfo", "-J", "-l", "-i", img)
	if !regexp.MustCompile(`(?m)^-.* 3145728 .*\]  install\.cgz $`).MatchString(out) {
		t.Errorf("isoinfo -J -l: install.cgz not listed with its size:\n%s", out)
	}

	out = run(t, "xorriso", "-abort_on", "NEVER", "-return_with", "WARNING", "32", "-read_fs", "norock", "-indev", img, "-find", "/", "-exec", "lsdl")
	for _, n := range names {
		if !strings.Contains(out, "'/"+n+"'") {
			t.Errorf("xorriso -read_fs norock: no %q in:\n%s", n, out)
		}
	}
	dst := filepath.Join(t.TempDir(), "xorriso")
	run(t, "xorriso", "-abort_on", "NEVER", "-return_with", "WARNING", "32", "-read_fs", "norock", "-osirrox", "on", "-indev", img, "-extract", "/", dst)
	compareTree(t, "xorriso -read_fs norock -extract", dst, jwant)

	out = run(t, "7z", "l", img)
	for _, n := range names {
		if !strings.Contains(out, "  "+n+"\n") {
			t.Errorf("7z l: no %q in:\n%s", n, out)
		}
	}
	dst = filepath.Join(t.TempDir(), "7z")
	run(t, "7z", "x", "-o"+dst, img)
	compareTree(t, "7z x", dst, jwant)

	out = run(t, "bsdtar", "--options", "iso9660:!rockridge", "-tf", img)
	for _, n := range names {
		if !strings.Contains(out, n+"\n") {
			t.Errorf("bsdtar without Rock Ridge: no %q in:\n%s", n, out)
		}
	}
	dst = t.TempDir()
	run(t, "bsdtar", "--options", "iso9660:!rockridge", "-C", dst, "-xf", img)
	compareTree(t, "bsdtar -x without Rock Ridge", dst, jwant)
	// With Rock Ridge (bsdtar's default), the names are Rock Ridge's.
	out = run(t, "bsdtar", "-tf", img)
	for _, n := range []string{"link to install", "private key.pem", "isolinux/initrd.img"} {
		if !strings.Contains(out, n+"\n") {
			t.Errorf("bsdtar -tf: no %q in:\n%s", n, out)
		}
	}
}

func compareTree(t *testing.T, what, dir string, want map[string][]byte) {
	t.Helper()
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s: %s: %d bytes differ from the %d source bytes", what, name, len(got), len(data))
		}
	}
}

// With Joliet.Long a name keeps up to 103 characters, and xorriso and
// 7z read it back.
func TestJolietLongNames(t *testing.T) {
	in, _ := realTree(t, pattern(70_000, 9))
	in.Joliet = &Joliet{Long: true}
	l, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("A Very Long Mixed-Case Name", 5) // 135 characters, and ".TxT"
	want := long[:JolietLongChars-3] + ".TxT"
	jroot := readBack(t, l).Joliet
	if childNamed(t, jroot, want).Size != 5 {
		t.Errorf("%q: wrong size", want)
	}
	img := writeImage(t, l)
	if out := run(t, "xorriso", "-abort_on", "NEVER", "-return_with", "WARNING", "32", "-read_fs", "norock", "-indev", img, "-find", "/", "-exec", "lsdl"); !strings.Contains(out, "'/"+want+"'") {
		t.Errorf("xorriso -read_fs norock: no %q in:\n%s", want, out)
	}
	if out := run(t, "7z", "l", img); !strings.Contains(out, "  "+want+"\n") {
		t.Errorf("7z l: no %q in:\n%s", want, out)
	}
}
