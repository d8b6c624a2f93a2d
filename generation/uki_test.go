package generation

import (
	"bytes"
	"debug/pe"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// debianStub is systemd-stub as Debian's systemd-boot-efi installs it.
const debianStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

// ukiSections reads the generation's UKI with debug/pe and returns the
// contents of its sections by name, and their names in order.
func ukiSections(t *testing.T, g *Generation) (map[string][]byte, []string) {
	t.Helper()
	if g.UKI == nil {
		t.Fatal("the generation has no UKI")
	}
	img, err := io.ReadAll(io.NewSectionReader(g.UKI, 0, g.UKI.Size()))
	if err != nil {
		t.Fatal(err)
	}
	f, err := pe.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	secs := map[string][]byte{}
	var names []string
	for _, s := range f.Sections {
		b, err := io.ReadAll(io.NewSectionReader(s, 0, int64(s.VirtualSize)))
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		secs[s.Name] = b
		names = append(names, s.Name)
	}
	return secs, names
}

// A generation's UKI holds the same kernel and initrd as its image, the
// command line and the rootfs's os-release (read through the symlink-free
// path when /etc/os-release is a symlink, as on Debian), with the initrd
// last; a rootfs without os-release gets one naming liveiso.
func TestBuildUKI(t *testing.T) {
	if _, err := os.Stat(debianStub); err != nil {
		t.Fatalf("%v (package systemd-boot-efi; scripts/setup.sh installs it)", err)
	}
	root := t.TempDir()
	osRelease := "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"
	writeFile(t, filepath.Join(root, "usr/lib/os-release"), osRelease)
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../usr/lib/os-release", filepath.Join(root, "etc/os-release")); err != nil {
		t.Fatal(err)
	}
	opts := uefiOnly(t, root)
	opts.Kernel = filepath.Join(t.TempDir(), "vmlinuz")
	kernel := strings.Repeat("kernel", 50_000)
	writeFile(t, opts.Kernel, kernel)
	opts.Append = "console=ttyS0   quiet"
	opts.SecureBoot, opts.UKI = SecureBootOff, true
	b, err := NewBuilder(opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	g, err := b.Build(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	initrd, err := io.ReadAll(io.NewSectionReader(g.Initrd, 0, g.Initrd.Size()))
	if err != nil {
		t.Fatal(err)
	}
	secs, names := ukiSections(t, g)
	for name, want := range map[string]string{
		".osrel": osRelease, ".cmdline": "console=ttyS0 quiet", ".linux": kernel, ".initrd": string(initrd),
	} {
		if got := string(secs[name]); got != want {
			t.Errorf("%s: %d bytes (%.40q), want %d (%.40q)", name, len(got), got, len(want), want)
		}
	}
	if names[len(names)-1] != ".initrd" {
		t.Errorf("sections %q: .initrd is not last", names)
	}

	os.Remove(filepath.Join(root, "usr/lib/os-release"))
	g, err = b.Build(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if secs, _ = ukiSections(t, g); !strings.Contains(string(secs[".osrel"]), "ID=liveiso\n") {
		t.Errorf("without os-release, .osrel is %q", secs[".osrel"])
	}
}

// Without systemd-stub there is no UKI; asked for one, NewBuilder fails
// naming the package.
func TestNoUKIStub(t *testing.T) {
	t.Parallel()
	opts := uefiOnly(t, t.TempDir())
	opts.Search.UKIStubs = []string{filepath.Join(t.TempDir(), "linuxx64.efi.stub")}
	opts.Kernel = filepath.Join(t.TempDir(), "vmlinuz")
	writeFile(t, opts.Kernel, "k")
	opts.SecureBoot = SecureBootOff
	b, err := NewBuilder(opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	g, err := b.Build(t.Context(), nil)
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	if g.UKI != nil {
		t.Error("a UKI without a stub")
	}
	opts.UKI = true
	if _, err := NewBuilder(opts, slog.New(slog.DiscardHandler)); !errors.Is(err, ErrNoUKIStub) || !strings.Contains(err.Error(), "systemd-boot-efi") {
		t.Errorf("a UKI asked for without a stub: %v, want ErrNoUKIStub naming systemd-boot-efi", err)
	}
	opts.UKIStub = opts.Search.UKIStubs[0]
	if _, err := NewBuilder(opts, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), opts.UKIStub) {
		t.Errorf("a missing --uki-stub: %v, want an error naming it", err)
	}
}

// BenchmarkPlanUKI measures what a UKI adds to every generation: planning
// it over the kernel and initrd sources (no byte of either is read).
func BenchmarkPlanUKI(b *testing.B) {
	stub, err := os.ReadFile(debianStub)
	if err != nil {
		b.Fatalf("%v (package systemd-boot-efi)", err)
	}
	kernel := strings.NewReader(strings.Repeat("k", 8<<20))
	initrd := strings.NewReader(strings.Repeat("i", 64<<20))
	g := gathered{
		Kernel: file{Source: kernel, Size: kernel.Size()},
		Initrd: file{Source: initrd, Size: initrd.Size()},
		UKI:    &ukiFiles{Stub: stub, OSRelease: []byte("ID=debian\n")},
	}
	for b.Loop() {
		if _, err := planUKI(g, "console=ttyS0 quiet"); err != nil {
			b.Fatal(err)
		}
	}
}
