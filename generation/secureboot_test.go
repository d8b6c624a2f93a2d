package generation

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/efiboot"
	"github.com/liveiso/liveiso/internal/fixture"
	"github.com/liveiso/liveiso/secureboot"
)

// debianShim is shim as Debian's shim-signed installs it.
const debianShim = "/usr/lib/shim/shimx64.efi.signed"

// uefiOnly are options for a UEFI image of root with a synthetic GRUB
// image, so that only the Secure Boot files come from the host.
func uefiOnly(t *testing.T, root string) Options {
	t.Helper()
	loader := filepath.Join(t.TempDir(), "gcdx64.efi")
	writeFile(t, loader, strings.Repeat("MZ", 1000))
	if _, err := os.Stat(filepath.Join(root, "init")); err != nil {
		writeFile(t, filepath.Join(root, "init"), "#!/bin/sh\n")
	}
	return Options{
		Rootfs: root, Boot: Boot{UEFI: true}, EFILoader: loader, NoHybrid: true,
		Initramfs: cacheOptions(t),
	}
}

// --secure-boot on with no shim installed fails in NewBuilder, before
// anything is packed or written, naming the package to install.
func TestSecureBootOnWithoutShim(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := uefiOnly(t, t.TempDir())
	opts.Search.Shims = []efiboot.Shim{{Shim: filepath.Join(dir, "shimx64.efi.signed"), MokManager: filepath.Join(dir, "mmx64.efi.signed")}}
	opts.Kernel = filepath.Join(dir, "vmlinuz")
	writeFile(t, opts.Kernel, "k")
	opts.SecureBoot = SecureBootOn
	b, err := NewBuilder(opts, slog.New(slog.DiscardHandler))
	if err == nil {
		b.Close()
		t.Fatal("NewBuilder succeeded")
	}
	if !errors.Is(err, efiboot.ErrNoShim) || !strings.Contains(err.Error(), "shim-signed") {
		t.Errorf("error %q: want ErrNoShim naming shim-signed", err)
	}
	if ents, _ := os.ReadDir(opts.Initramfs.CacheDir); len(ents) != 0 {
		t.Errorf("the cache directory was written: %v", ents)
	}

	// auto without shim: GRUB boots directly.
	opts.SecureBoot = SecureBootAuto
	if b, err = NewBuilder(opts, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("auto without shim: %v", err)
	}
	defer b.Close()
	g, err := b.Build(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.SecureBoot {
		t.Error("auto without shim: the generation says it boots through shim")
	}
}

func TestSecureBootOnNeedsUEFI(t *testing.T) {
	root := t.TempDir()
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	writeFile(t, kernel, "k")
	_, err := NewBuilder(Options{Rootfs: root, Kernel: kernel, Boot: Boot{BIOS: true}, SecureBoot: SecureBootOn,
		Initramfs: cacheOptions(t)}, slog.New(slog.DiscardHandler))
	if !errors.Is(err, ErrSecureBootNeedsUEFI) {
		t.Errorf("--secure-boot on --boot bios: %v, want ErrSecureBootNeedsUEFI", err)
	}
}

// With Debian's shim, the Debian kernel passes the build-time check and a
// kernel that is not signed is reported, in every generation, as one that
// will not boot with Secure Boot enforcing; the kernel is checked again
// when it is replaced.
func TestSecureBootKernelCheck(t *testing.T) {
	k := fixture.MustKernel(t)
	signed, err := os.ReadFile(k.Vmlinuz)
	if err != nil {
		t.Fatal(err)
	}
	opts := uefiOnly(t, t.TempDir())
	opts.Kernel = filepath.Join(t.TempDir(), "vmlinuz")
	writeFile(t, opts.Kernel, "not a PE image")
	opts.SecureBoot, opts.Shim = SecureBootOn, debianShim
	b, err := NewBuilder(opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("%v (package shim-signed; scripts/setup.sh installs it)", err)
	}
	defer b.Close()
	kernelWarnings := func() []string {
		t.Helper()
		g, err := b.Build(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !g.SecureBoot {
			t.Error("the generation does not say it boots through shim")
		}
		var ws []string
		for _, w := range g.Warnings {
			if w.Source == WarningBoot && strings.HasPrefix(w.Message, "kernel ") {
				ws = append(ws, w.Message)
			}
		}
		return ws
	}
	want := "kernel " + opts.Kernel + " is not signed for shim's chain"
	for i := range 2 {
		if ws := kernelWarnings(); len(ws) != 1 || !strings.HasPrefix(ws[0], want) || !strings.HasSuffix(ws[0], "it will not boot with Secure Boot enforcing") {
			t.Errorf("build %d: kernel warnings %q, want one starting %q", i+1, ws, want)
		}
	}
	writeFile(t, opts.Kernel, string(signed))
	if ws := kernelWarnings(); len(ws) != 0 {
		t.Errorf("the Debian kernel: warnings %q, want none", ws)
	}
}

func cacheOptions(t *testing.T) cache.Options {
	return cache.Options{CacheDir: t.TempDir(), Compression: cache.Gzip}
}

// BenchmarkKernelSignatureCheck measures the build-time check of the
// Debian kernel against Debian's shim, paid once per version of the kernel.
func BenchmarkKernelSignatureCheck(b *testing.B) {
	k := fixture.MustKernel(b)
	kernel, err := os.ReadFile(k.Vmlinuz)
	if err != nil {
		b.Fatal(err)
	}
	shim, err := os.ReadFile(debianShim)
	if err != nil {
		b.Fatal(err)
	}
	certs, err := secureboot.ShimVendorCerts(shim)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(kernel)))
	for b.Loop() {
		if w := signatureWarning("kernel", k.Vmlinuz, kernel, certs); w != "" {
			b.Fatal(w)
		}
	}
}

// With shim the ESP holds more, is dated by its newest file, and stays one
// constant image that an edit of the rootfs does not change.
func TestPlanShimESPConstant(t *testing.T) {
	tShim := tEFI.Add(time.Hour)
	esp := func(shim *shimFiles, initrd string) cdEntry {
		t.Helper()
		g := gatheredWith(bios(), uefi())
		g.Shim = shim
		g.Initrd = bytesFile(initrd, tRootfs)
		in, err := plan(g, planOptions{VolumeID: "V", Append: "quiet"})
		if err != nil {
			t.Fatal(err)
		}
		e, ok := flatten(t, in.Root)["boot/efi.img"]
		if !ok {
			t.Fatal("no boot/efi.img")
		}
		return e
	}
	shim := &shimFiles{Shim: bytesFile(strings.Repeat("SHIM", 5000), tShim), MokManager: bytesFile(strings.Repeat("MOKM", 3000), tEFI)}
	a, b, plain := esp(shim, "INITRD one"), esp(shim, "INITRD two, longer"), esp(nil, "INITRD one")
	if a.data != b.data || !a.mtime.Equal(b.mtime) {
		t.Error("the ESP with shim changed with the initrd")
	}
	if a.data == plain.data {
		t.Error("the ESP with shim is the ESP without")
	}
	if !a.mtime.Equal(tShim) || !plain.mtime.Equal(tEFI) {
		t.Errorf("ESP dated %s with shim (want shim's %s), %s without (want GRUB's %s)", a.mtime, tShim, plain.mtime, tEFI)
	}
}
