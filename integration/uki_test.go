package integration

import (
	"bytes"
	"debug/pe"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/fat"
	"github.com/liveiso/liveiso/live"

	"github.com/liveiso/liveiso/internal/testenv"
)

// buildUKI runs liveiso build with --uki (and -o, when image is set) and
// returns the UKI's path.
func (fx fixture) buildUKI(t *testing.T, image string, more ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "uki.efi")
	args := append([]string{"build", "--uki", out}, fx.imageArgs(t, "")...)
	if image != "" {
		args = append(args, "-o", image)
	}
	stdout, stderr, err := liveiso(t, append(args, more...)...)
	if err != nil {
		t.Fatalf("liveiso %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	t.Logf("liveiso build: %s", strings.TrimSpace(stdout))
	return out
}

// The UKI boots to the marker under OVMF as EFI/BOOT/BOOTX64.EFI of an ESP
// made by package fat: systemd-stub hands the kernel its command line and
// initrd from its own sections.
func TestUKIBootsFromESP(t *testing.T) {
	t.Parallel()
	marker := "uki " + time.Now().Format(time.RFC3339Nano)
	fx := newFixture(t, marker)
	ukiPath := fx.buildUKI(t, "")
	f, err := os.Open(ukiPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	esp, err := fat.Plan(fat.Input{Label: "UKI", VolumeID: 1, Date: fi.ModTime(),
		Files: []fat.File{{Path: "EFI/BOOT/BOOTX64.EFI", Size: fi.Size(), Source: f}}})
	if err != nil {
		t.Fatal(err)
	}
	espPath := filepath.Join(t.TempDir(), "esp.img")
	out, err := os.Create(espPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, io.NewSectionReader(esp, 0, esp.Size())); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	bootToMarker(t, testenv.VMOptions{OVMF: true, NoReboot: true,
		Drives: []string{"file=" + espPath + ",format=raw,if=virtio,readonly=on"}}, marker)
}

// objdumpSection is one line of objdump -h.
type objdumpSection struct {
	name          string
	size, vma, at int64 // at: file offset
}

// objdumpSections reads a PE file's section table with binutils' objdump.
func objdumpSections(t *testing.T, path string) ([]objdumpSection, int64) {
	t.Helper()
	out := hostTool(t, "objdump", "-h", "-p", path)
	// "  8 .osrel  00000036  000000000001a000  000000000001a000  00014600  2**2"
	re := regexp.MustCompile(`(?m)^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+2\*\*\d+$`)
	var secs []objdumpSection
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		hex := func(s string) int64 { n, _ := strconv.ParseInt(s, 16, 64); return n }
		secs = append(secs, objdumpSection{name: m[1], size: hex(m[2]), vma: hex(m[3]), at: hex(m[4])})
	}
	fa := regexp.MustCompile(`(?m)^FileAlignment\s+([0-9a-f]+)`).FindStringSubmatch(out)
	if fa == nil || len(secs) == 0 {
		t.Fatalf("objdump -h -p %s: no sections or FileAlignment in:\n%s", path, out)
	}
	align, _ := strconv.ParseInt(fa[1], 16, 64)
	return secs, align
}

// objdump reads the UKI's sections where systemd-stub needs them: after the
// stub's own, in the order .osrel, .cmdline, .linux, .initrd (last, so that
// only it moves with an edit), each at a page-aligned address and a
// file-aligned offset, not overlapping; and at those offsets are the
// command line, the kernel file and the same initrd as the image's.
func TestUKISections(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "uki sections")
	img := filepath.Join(t.TempDir(), "image.iso")
	ukiPath := fx.buildUKI(t, img)
	secs, fileAlign := objdumpSections(t, ukiPath)
	var names []string
	for _, s := range secs {
		names = append(names, s.name)
	}
	if n := len(names); n < 5 || strings.Join(names[n-4:], " ") != ".osrel .cmdline .linux .initrd" {
		t.Fatalf("sections %q, want the stub's, then .osrel .cmdline .linux .initrd", names)
	}
	data := readFile(t, ukiPath)
	var end int64
	for i, s := range secs {
		if s.vma < end {
			t.Errorf("%s at %#x overlaps the section before it (ends %#x)", s.name, s.vma, end)
		}
		end = s.vma + s.size
		if i < len(secs)-4 {
			continue
		}
		if s.vma%4096 != 0 || s.at%fileAlign != 0 {
			t.Errorf("%s: address %#x, file offset %#x: want page- and %d-byte-aligned", s.name, s.vma, s.at, fileAlign)
		}
		if s.at+s.size > int64(len(data)) {
			t.Fatalf("%s ends at %d, past the file's %d bytes", s.name, s.at+s.size, len(data))
		}
	}
	section := func(name string) []byte {
		for _, s := range secs {
			if s.name == name {
				return data[s.at : s.at+s.size]
			}
		}
		return nil
	}
	if got, want := string(section(".cmdline")), testenv.KernelArgs; got != want {
		t.Errorf(".cmdline %q, want %q", got, want)
	}
	if !bytes.Equal(section(".linux"), readFile(t, fx.kernel)) {
		t.Errorf(".linux is not the kernel file")
	}
	if !bytes.Equal(section(".initrd"), readFile(t, extractInitrd(t, img))) {
		t.Errorf(".initrd is not the image's initrd")
	}
	if !bytes.Contains(section(".osrel"), []byte("ID=")) {
		t.Errorf(".osrel %q is no os-release", section(".osrel"))
	}
	if out, err := exec.Command("sbverify", "--list", ukiPath).CombinedOutput(); !strings.Contains(string(out), "No signature table present") {
		t.Errorf("sbverify --list does not read the UKI as an unsigned PE image: %v\n%s", err, out)
	}
}

// cp of MOUNTPOINT/uki.efi while the rootfs changes every 100 ms always
// yields one whole generation: a PE file whose section table fits it and
// whose .initrd unpacks; once the edits stop, uki.efi is byte for byte what
// liveiso build --uki writes for the final tree.
func TestMountUKICopies(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "uki copies")
	m := startMount(t, fx, "", "", "")
	liveUKI := filepath.Join(m.dir, "uki.efi")
	if s, _ := m.status(); s.UKISize == 0 {
		t.Fatalf("status.json has no uki_size: %+v", s)
	}

	stopEdits := editContinuously(t, fx.rootfs, "uki", 100*time.Millisecond, 50_000)
	defer stopEdits()
	work := t.TempDir()
	gens := map[uint64]bool{}
	deadline := time.Now().Add(time.Minute)
	for i := 0; len(gens) < 4 && time.Now().Before(deadline); i++ {
		cp := filepath.Join(work, fmt.Sprintf("uki-%d.efi", i))
		if out, err := exec.Command("cp", liveUKI, cp).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
		s, _ := m.status()
		gens[s.Generation] = true
		checkUKIWhole(t, cp)
		os.Remove(cp)
	}
	stopEdits()
	if len(gens) < 4 {
		t.Errorf("the copies saw only generations %v: the edits did not make new generations while copying", gens)
	}

	m.waitFor(t, "the last edit's generation", 2*time.Minute, func(s live.Status) bool {
		time.Sleep(500 * time.Millisecond) // longer than the watcher's debounce
		s2, _ := m.status()
		return s.State == live.StateReady && s2.Generation == s.Generation
	})
	if !bytes.Equal(readFile(t, liveUKI), readFile(t, fx.buildUKI(t, ""))) {
		t.Errorf("the live uki.efi differs from liveiso build --uki of the same tree")
	}
}

// checkUKIWhole checks a copy of a UKI with debug/pe: the file ends where
// its last section does, and .initrd unpacks with the host's zstd (or
// gzip) and cpio and holds etc/marker.
func checkUKIWhole(t *testing.T, path string) {
	t.Helper()
	f, err := pe.Open(path)
	if err != nil {
		t.Fatalf("a copy of uki.efi taken during edits is no PE file: %v", err)
	}
	defer f.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	last := f.Sections[len(f.Sections)-1]
	if end := int64(last.Offset) + int64(last.Size); last.Name != ".initrd" || end != fi.Size() {
		t.Fatalf("a copy of uki.efi taken during edits: last section %s ends at %d, the file at %d", last.Name, end, fi.Size())
	}
	initrd := filepath.Join(t.TempDir(), "initrd.img")
	b, err := io.ReadAll(io.NewSectionReader(last, 0, int64(last.VirtualSize)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(initrd, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", hostDecompressor(t, initrd)+" < '"+initrd+"' | cpio -it --quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("the .initrd of a copy of uki.efi taken during edits does not unpack: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "etc/marker") {
		t.Errorf("the .initrd of a copy lacks etc/marker:\n%s", out)
	}
}
