package isolayout

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// requireTool fails (not skips) when an independent reader is missing: CI
// installs them, and a silent skip would hide a broken image.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install the xorriso and genisoimage packages to run the independent-reader tests", name)
	}
	return p
}

var complaint = regexp.MustCompile(`(?m)^.*(SORRY|WARNING|FAILURE|FATAL|MISHAP|ABORT).*$`)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(requireTool(t, name), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstdout:\n%s\nstderr:\n%s", name, args, err, stdout.String(), stderr.String())
	}
	if m := complaint.FindAllString(stderr.String()+stdout.String(), -1); m != nil {
		t.Errorf("%s %v complained:\n%s", name, args, strings.Join(m, "\n"))
	}
	return stdout.String() + stderr.String()
}

func TestIndependentReaders(t *testing.T) {
	in, want := realTree(t, pattern(70_000, 9))
	l, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	img := writeImage(t, l)

	out := run(t, "xorriso", "-abort_on", "NEVER", "-return_with", "WARNING", "32", "-indev", img, "-find", "/", "-exec", "lsdl")
	for _, re := range []string{
		`(?m)^-rw-r-----\s+1 0\s+42\s+7 .* '/private key\.pem'$`,
		`(?m)^lrwxrwxrwx .* '/link to install' -> 'install\.cgz'$`,
		`(?m)^lrwxrwxrwx .* '/abs-link' -> '/usr/lib/\.\./share/\./doc/x{300}'$`,
		`(?m)^-rwsr-xr-x .* '/setuid'$`,
		`(?m)^-rw-r--r-- .* 3145728 .* '/install\.cgz'$`,
		`(?m)^-rw-r--r-- .* '/Mixed\.Case\.Name\.tar\.gz'$`,
		`(?m)^-rw-r--r-- .* '/mixed\.case\.name\.tar\.gz'$`,
		`(?m)^-rw------- .* '/with spaces & odd #chars!\.txt'$`,
		`(?m)^er--r--r-- .* 2048 .* '/isolinux/boot\.cat'$`,
		`(?m)^drwxr-xr-x .* '/nested/deeper/deepest'$`,
		`(?m)^-rw-r--r-- .* '/` + regexp.QuoteMeta(strings.Repeat("A Very Long Mixed-Case Name", 5)) + `\.TxT'$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("xorriso -find lsdl: no line matching %s in:\n%s", re, out)
		}
	}

	out = run(t, "xorriso", "-abort_on", "NEVER", "-return_with", "WARNING", "32", "-indev", img, "-report_el_torito", "plain")
	for _, re := range []string{
		`El Torito catalog\s*:\s*\d+\s+1`,
		`El Torito boot img\s*:\s*1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+4\s+\d+`,
		`El Torito img path\s*:\s*1\s+/isolinux/isolinux\.bin`,
		`El Torito cat path\s*:\s*/isolinux/boot\.cat`,
		`El Torito img opts\s*:\s*1\s+boot-info-table`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("-report_el_torito: no match for %s in:\n%s", re, out)
		}
	}

	out = run(t, "isoinfo", "-d", "-i", img)
	for _, s := range []string{
		"Volume id: LIVEISO",
		"Logical block size is: 2048",
		"Volume size is: " + strconv.FormatInt(l.Size()/SectorSize, 10),
		"Rock Ridge signatures version 1 found",
		"Eltorito validation header:",
		"Bootid 88 (bootable)",
		"No Emulation Boot",
		"Nsect 4",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("isoinfo -d: no %q in:\n%s", s, out)
		}
	}
	out = run(t, "isoinfo", "-R", "-l", "-i", img)
	for _, s := range []string{"private key.pem", "link to install -> install.cgz", "Mixed.Case.Name.tar.gz", "deepest", "leaf.txt", "initrd.img"} {
		if !strings.Contains(out, s) {
			t.Errorf("isoinfo -R -l: no %q in:\n%s", s, out)
		}
	}

	dst := filepath.Join(t.TempDir(), "x")
	run(t, "xorriso", "-abort_on", "NEVER", "-return_with", "WARNING", "32", "-osirrox", "on", "-indev", img, "-extract", "/", dst)
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil {
			t.Errorf("extract: %v", err)
			continue
		}
		if !bytes.Equal(got, data) {
			t.Errorf("extract %s: %d bytes differ from the %d source bytes", name, len(got), len(data))
		}
	}
	if target, err := os.Readlink(filepath.Join(dst, "link to install")); err != nil || target != "install.cgz" {
		t.Errorf("extract symlink: %q %v", target, err)
	}
	if fi, err := os.Stat(filepath.Join(dst, "private key.pem")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("extract mode: %v %v", fi, err)
	}
}
