package integration

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// The image liveiso build writes boots in QEMU to the rootfs's marker.
func TestBuildBootsToMarker(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "built by liveiso "+time.Now().Format(time.RFC3339Nano))
	img := fx.build(t, "")
	vm := bootToMarker(t, testenv.VMOptions{CDROM: img, NoReboot: true}, fx.marker)
	if err := vm.WaitExit(time.Minute); err != nil {
		vm.Fatalf(t, "guest did not power off: %v", err)
	}
}

// writeExtraTree makes the extra files the issue asks the guest to read:
// long mixed-case names, spaces and odd characters, nested directories, a
// 3 MB binary, symlinks, a mode 0640 file.
func writeExtraTree(t *testing.T, dir string) {
	t.Helper()
	writeTree(t, dir)
	bin := make([]byte, 3<<20)
	if _, err := rand.Read(bin); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		path string
		mode uint32
		data []byte
	}{
		{"install.cgz", 0o644, bin},
		{"Odd Names/quotes 'single' \"double\" & (parens) [brackets] {braces} #hash %pct=+,~!.txt", 0o644, []byte("odd\n")},
		{"Odd Names/Ünïcödé Ñame — ελληνικά.md", 0o640, []byte("unicode\n")},
		{"Odd Names/ALLCAPS.TXT", 0o644, []byte("caps\n")},
		{"Odd Names/allcaps.txt", 0o644, []byte("lower: must not collide with ALLCAPS.TXT\n")},
		{"Odd Names/.hidden", 0o600, []byte("hidden\n")},
		{"Odd Names/" + strings.Repeat("VeryLongMixedCaseName", 10) + ".tar.gz", 0o640, []byte("long\n")},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../install.cgz", filepath.Join(dir, "Odd Names/link to install.cgz")); err != nil {
		t.Fatal(err)
	}
}

// onlyExtra drops the CD's root and the boot files' directories (BIOS:
// isolinux; UEFI: boot, .disk) from a listing, leaving what came from --extra.
func onlyExtra(entries []testenv.ListEntry) []testenv.ListEntry {
	return slices.DeleteFunc(slices.Clone(entries), func(e testenv.ListEntry) bool {
		top, _, _ := strings.Cut(e.Path, "/")
		return e.Path == "." || top == "isolinux" || top == "boot" || top == ".disk"
	})
}

// The guest mounts its own CD with its own isofs driver and lists it; the
// names, types, modes, owners, sizes, contents and symlink targets of the
// extra files are those on the host.
func TestBuildGuestReadsItsCD(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "guest reads its CD "+time.Now().Format(time.RFC3339Nano))
	extra := filepath.Join(t.TempDir(), "extra")
	writeExtraTree(t, extra)
	want, err := testenv.ListTree(extra)
	if err != nil {
		t.Fatal(err)
	}
	want = onlyExtra(want)
	img := fx.build(t, testenv.ArgMountCD, "--extra", extra)

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
	if diff := testenv.DiffListings(want, onlyExtra(all)); len(diff) > 0 {
		vm.Fatalf(t, "the guest's listing of its CD differs from the extra files:\n%s", strings.Join(diff, "\n"))
	}
	// The boot files are there too, the kernel byte for byte.
	kernel, err := testenv.ListTree(filepath.Dir(fx.kernel))
	if err != nil {
		t.Fatal(err)
	}
	var kernelSum string
	for _, e := range kernel {
		if e.Path == filepath.Base(fx.kernel) {
			kernelSum = e.SHA256
		}
	}
	found := map[string]testenv.ListEntry{}
	for _, e := range all {
		found[e.Path] = e
	}
	for _, p := range []string{"isolinux/isolinux.bin", "isolinux/ldlinux.c32", "isolinux/isolinux.cfg", "isolinux/vmlinuz", "isolinux/initrd.img", "isolinux/boot.cat"} {
		if _, ok := found[p]; !ok {
			t.Errorf("the guest does not see %s", p)
		}
	}
	if got := found["isolinux/vmlinuz"].SHA256; got != kernelSum {
		t.Errorf("isolinux/vmlinuz on the CD has sha256 %s, the kernel file %s", got, kernelSum)
	}
}

// xorriso and isoinfo, independent readers, see the same tree and boot
// entry, and extracting every file gives the source bytes.
func TestBuildIndependentReaders(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "readers")
	extra := filepath.Join(t.TempDir(), "extra")
	writeExtraTree(t, extra)
	img := fx.build(t, "", "--extra", extra, "--volume-id", "READERS_TEST")

	out := tool(t, "xorriso", "-abort_on", "NEVER", "-indev", img, "-report_el_torito", "plain")
	for _, want := range []string{
		"El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4",
		"El Torito img path :   1  /isolinux/isolinux.bin",
		"El Torito cat path : /isolinux/boot.cat",
	} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("xorriso -report_el_torito lacks %q:\n%s", want, out)
		}
	}

	d := tool(t, "isoinfo", "-d", "-i", img)
	for _, want := range []string{"Volume id: READERS_TEST", "El Torito VD version 1 found", "Rock Ridge signatures version 1 found", "Eltorito defaultboot header:", "Bootoff"} {
		if !strings.Contains(d, want) {
			t.Errorf("isoinfo -d lacks %q:\n%s", want, d)
		}
	}

	// The same names through both readers' Rock Ridge.
	wantPaths := []string{"/isolinux/initrd.img", "/isolinux/vmlinuz", "/isolinux/isolinux.cfg"}
	ents, err := testenv.ListTree(extra)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range onlyExtra(ents) {
		wantPaths = append(wantPaths, "/"+e.Path)
	}
	find := tool(t, "xorriso", "-abort_on", "NEVER", "-indev", img, "-find", "/", "-exec", "lsdl")
	rl := tool(t, "isoinfo", "-R", "-l", "-i", img)
	for _, p := range wantPaths {
		// xorriso quotes names in '', a ' within as '"'"'.
		if !strings.Contains(find, "'"+strings.ReplaceAll(p, "'", `'"'"'`)+"'") {
			t.Errorf("xorriso -find does not list %s", p)
		}
		if !strings.Contains(rl, filepath.Base(p)) {
			t.Errorf("isoinfo -R -l does not list %s", filepath.Base(p))
		}
	}

	// Extraction gives back the source bytes, modes and link targets.
	dst := filepath.Join(t.TempDir(), "x")
	tool(t, "xorriso", "-abort_on", "FAILURE", "-osirrox", "on", "-indev", img, "-extract", "/", dst)
	got, err := testenv.ListTree(dst)
	if err != nil {
		t.Fatal(err)
	}
	if diff := testenv.DiffListings(onlyExtra(ents), onlyExtra(got)); len(diff) > 0 {
		t.Errorf("xorriso's extraction differs from the extra files:\n%s", strings.Join(diff, "\n"))
	}
	kernel, err := os.ReadFile(fx.kernel)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := os.ReadFile(filepath.Join(dst, "isolinux/vmlinuz")); err != nil || !bytes.Equal(k, kernel) {
		t.Errorf("extracted vmlinuz differs from the kernel (%v)", err)
	}
	// The initrd is one archive to the host's gzip (or zstd) and cpio.
	initrd := filepath.Join(dst, "isolinux/initrd.img")
	dc := hostDecompressor(t, initrd)
	cpio := exec.Command("sh", "-c", dc+" | cpio -it --quiet")
	cpio.Stdin, err = os.Open(initrd)
	if err != nil {
		t.Fatal(err)
	}
	list, err := cpio.CombinedOutput()
	if err != nil {
		t.Fatalf("%s | cpio -it of the extracted initrd: %v\n%s", dc, err, list)
	}
	for _, want := range []string{"etc/marker", "init", "bin/busybox", "dev/console"} {
		if !slices.Contains(strings.Fields(string(list)), want) && !slices.Contains(strings.Fields(string(list)), "./"+want) {
			t.Errorf("the initrd's archive lacks %s", want)
		}
	}
}

// Two builds of unchanged inputs are byte-identical, with separate caches
// (so nothing comes from a cache). A touch of a rootfs file changes only the
// initrd's sectors, the directory records that point at it (primary and
// Joliet) and the volume descriptors: every other file keeps its sectors.
func TestBuildReproducible(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "reproducible")
	a := readFile(t, fx.build(t, ""))
	b := readFile(t, fx.build(t, ""))
	if !bytes.Equal(a, b) {
		t.Fatalf("two builds of the same inputs differ in %d sectors", len(diffSectors(a, b)))
	}

	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(fx.rootfs, "etc/marker"), later, later); err != nil {
		t.Fatal(err)
	}
	imgC := fx.build(t, "")
	c := readFile(t, imgC)
	lba, blocks := fileExtent(t, imgC, "/isolinux/initrd.img")
	// The isolinux directory holds the initrd's record (size, date), in
	// the primary tree and in the Joliet tree; both lie before every
	// file's data.
	dirs := map[int]bool{dirLBA(t, imgC, "-R", "/isolinux/"): true, dirLBA(t, imgC, "-J", "/isolinux/"): true}
	var others []int
	for _, s := range diffSectors(a, c) {
		switch {
		case s == 16: // the PVD: volume space size and dates
		case s == 18: // the Joliet SVD (after the El Torito boot record): the same
		case s >= lba && s < lba+blocks: // the initrd itself
		case dirs[s]:
		default:
			others = append(others, s)
		}
	}
	if len(others) > 0 {
		t.Errorf("touching a rootfs file changed sectors %v besides the volume descriptors, the isolinux directories %v and the initrd (LBA %d+%d)", others, dirs, lba, blocks)
	}
	// Had the image's size changed, the system area (the hybrid MBR
	// and GPT) would say so too; nothing else before the initrd.
	for _, s := range diffSectors(a[:lba*2048], c[:lba*2048]) {
		if s >= 16 && s != 16 && s != 18 && !dirs[s] {
			t.Errorf("the initrd moved other data: sector %d", s)
		}
	}
}

// dirLBA is where isoinfo (-R: the primary tree, -J: the Joliet tree)
// says directory dir (as "/isolinux/") starts.
func dirLBA(t *testing.T, img, tree, dir string) int {
	t.Helper()
	out := tool(t, "isoinfo", tree, "-l", "-i", img)
	_, listing, ok := strings.Cut(out, "Directory listing of "+dir+"\n")
	m := regexp.MustCompile(`\[\s*(\d+) 02\]`).FindStringSubmatch(listing)
	if !ok || m == nil {
		t.Fatalf("isoinfo %s -l: no directory %s in:\n%s", tree, dir, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func diffSectors(a, b []byte) []int {
	var d []int
	for s := 0; s*2048 < max(len(a), len(b)); s++ {
		if !bytes.Equal(sector(a, s), sector(b, s)) {
			d = append(d, s)
		}
	}
	return d
}

func sector(b []byte, s int) []byte {
	lo, hi := min(s*2048, len(b)), min((s+1)*2048, len(b))
	return b[lo:hi]
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tool runs a reader and returns what it printed; xorriso's complaints
// (SORRY, WARNING, FAILURE) fail the test.
func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if regexp.MustCompile(`: (SORRY|WARNING|FAILURE|FATAL) : `).MatchString(l) {
			t.Errorf("%s complains: %s", name, l)
		}
	}
	return string(out)
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

// Bad input gets a clear error naming the path and the problem, and a
// non-zero exit.
func TestBuildBadInput(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "bad input")
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	noKernel := t.TempDir()
	out := filepath.Join(t.TempDir(), "image.iso")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing rootfs", []string{"--rootfs", "/no/such/rootfs", "--kernel", fx.kernel}, []string{"/no/such/rootfs", "no such file"}},
		{"rootfs not a directory", []string{"--rootfs", notDir, "--kernel", fx.kernel}, []string{notDir, "not a directory"}},
		{"no kernel", []string{"--rootfs", noKernel}, []string{noKernel + "/boot", "vmlinuz", "--kernel"}},
		{"missing kernel", []string{"--rootfs", fx.rootfs, "--kernel", "/no/such/vmlinuz"}, []string{"/no/such/vmlinuz"}},
		{"missing isolinux", []string{"--rootfs", fx.rootfs, "--kernel", fx.kernel, "--isolinux", "/no/isolinux.bin"}, []string{"/no/isolinux.bin"}},
		{"bad compression", []string{"--rootfs", fx.rootfs, "--kernel", fx.kernel, "--compression", "lzma"}, []string{"lzma", "gzip, zstd or none"}},
		{"missing extra", []string{"--rootfs", fx.rootfs, "--kernel", fx.kernel, "--extra", "/no/extra"}, []string{"/no/extra"}},
	} {
		args := append([]string{"build", "-o", out, "--cache-dir", t.TempDir()}, tc.args...)
		stdout, stderr, err := liveiso(t, args...)
		if err == nil {
			t.Errorf("%s: liveiso %v succeeded:\n%s", tc.name, args, stdout)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: the error does not say %q:\n%s", tc.name, w, stderr)
			}
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: a failed build left %s behind", tc.name, out)
		}
	}
}
