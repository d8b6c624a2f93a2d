package generation

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	// Sorted as sort -V sorts kernel file names.
	want := []string{
		"vmlinuz-5.10.0-9-amd64",
		"vmlinuz-5.10.0-10-amd64",
		"vmlinuz-6.1.0-9-amd64",
		"vmlinuz-6.1.0-28-amd64",
		"vmlinuz-6.1.0-028-rt",
		"vmlinuz-6.10.0-1-amd64",
	}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, compareVersions)
	if !slices.Equal(got, want) {
		t.Errorf("sorted:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNewestKernel(t *testing.T) {
	root := t.TempDir()
	boot := filepath.Join(root, "boot")
	if _, err := newestKernel(root); !errors.Is(err, ErrNoKernel) {
		t.Fatalf("no boot dir: got %v, want ErrNoKernel", err)
	}
	if err := os.Mkdir(boot, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vmlinuz-6.1.0-9-amd64", "vmlinuz-6.1.0-10-amd64", "config-6.1.0-99-amd64"} {
		if err := os.WriteFile(filepath.Join(boot, name), []byte("k"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink is never picked, however new: it could point outside the rootfs.
	if err := os.Symlink("/etc/shadow", filepath.Join(boot, "vmlinuz-9.9.9")); err != nil {
		t.Fatal(err)
	}
	got, err := newestKernel(root)
	if err != nil {
		t.Fatal(err)
	}
	if got != "boot/vmlinuz-6.1.0-10-amd64" {
		t.Errorf("newestKernel = %q, want boot/vmlinuz-6.1.0-10-amd64", got)
	}
}

func TestNewestKernelRefusesSymlinkedBootDir(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "vmlinuz-1"), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "boot")); err != nil {
		t.Fatal(err)
	}
	if _, err := newestKernel(root); !errors.Is(err, ErrNoKernel) || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("newestKernel with boot -> %s: %v, want ErrNoKernel saying boot is not a directory", outside, err)
	}
}

func TestOpenBeneathRefusesSymlinks(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "boot"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "boot", "vmlinuz-1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(root, "linkdir")); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"boot/vmlinuz-1", "linkdir/secret", "../" + filepath.Base(root) + "/boot/vmlinuz-1"} {
		if _, _, err := openBeneath(root, rel); err == nil {
			t.Errorf("openBeneath(%q) followed a symlink out of the rootfs", rel)
		}
	}
}

func TestFindIsolinuxErrorListsPlaces(t *testing.T) {
	t.Parallel()
	mods := t.TempDir() // a distribution's module directory, empty for now
	search := []IsolinuxDir{{Loader: t.TempDir(), Modules: mods}}
	_, _, err := findIsolinux(filepath.Join(t.TempDir(), "isolinux.bin"), search)
	if err == nil || !strings.Contains(err.Error(), "isolinux.bin") {
		t.Errorf("missing --isolinux file: got %v", err)
	}
	if _, _, err := findIsolinux("", search); !errors.Is(err, ErrNoIsolinux) || !strings.Contains(err.Error(), search[0].Loader) {
		t.Errorf("nothing installed: got %v, want ErrNoIsolinux naming %s", err, search[0].Loader)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "isolinux.bin")
	writeFile(t, bin, "x")
	if _, _, err := findIsolinux(bin, search); !errors.Is(err, ErrNoIsolinux) || !strings.Contains(err.Error(), mods) {
		t.Errorf("no ldlinux.c32 anywhere: got %v, want ErrNoIsolinux naming %s", err, mods)
	}
	// ldlinux.c32 in a distribution's module directory is found for a
	// loader elsewhere, and for the distribution's own loader.
	writeFile(t, filepath.Join(mods, "ldlinux.c32"), "x")
	if _, ld, err := findIsolinux(bin, search); err != nil || ld != filepath.Join(mods, "ldlinux.c32") {
		t.Errorf("findIsolinux(%s) = %q, %v", bin, ld, err)
	}
	writeFile(t, filepath.Join(search[0].Loader, "isolinux.bin"), "x")
	if got, ld, err := findIsolinux("", search); err != nil || got != filepath.Join(search[0].Loader, "isolinux.bin") || ld != filepath.Join(mods, "ldlinux.c32") {
		t.Errorf("search: %q, %q, %v", got, ld, err)
	}
	writeFile(t, filepath.Join(dir, "ldlinux.c32"), "x")
	if _, ld, err := findIsolinux(bin, search); err != nil || ld != filepath.Join(dir, "ldlinux.c32") {
		t.Errorf("ldlinux.c32 beside the loader is preferred: got %q, %v", ld, err)
	}
}

func TestIsolinuxCfg(t *testing.T) {
	got := isolinuxCfg("  console=ttyS0 quiet ")
	want := "default linux\nlabel linux\n  kernel vmlinuz\n  append initrd=initrd.img console=ttyS0 quiet\n"
	if got != want {
		t.Errorf("isolinuxCfg:\n%s\nwant:\n%s", got, want)
	}
}

// Bad input is reported by NewBuilder, before a build packs the whole rootfs:
// a --kernel or --isolinux that is missing or not a file, named in the error.
func TestNewBuilderChecksNamedFiles(t *testing.T) {
	root := t.TempDir()
	dir := t.TempDir()
	for _, tc := range []struct {
		what string
		opts Options
		path string
	}{
		{"missing kernel", Options{Kernel: filepath.Join(dir, "vmlinuz-missing")}, filepath.Join(dir, "vmlinuz-missing")},
		{"kernel is a directory", Options{Kernel: dir}, dir},
		{"isolinux is a directory", Options{Isolinux: dir, Boot: Boot{BIOS: true}}, dir},
	} {
		tc.opts.Rootfs = root
		tc.opts.Initramfs.CacheDir = t.TempDir()
		if tc.opts.Kernel == "" {
			tc.opts.Kernel = filepath.Join(dir, "vmlinuz")
			if err := os.WriteFile(tc.opts.Kernel, []byte("k"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b, err := NewBuilder(tc.opts, slog.New(slog.DiscardHandler))
		if err == nil {
			b.Close()
			t.Errorf("%s: NewBuilder succeeded", tc.what)
			continue
		}
		if !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: error %q does not name %s", tc.what, err, tc.path)
		}
	}
}
