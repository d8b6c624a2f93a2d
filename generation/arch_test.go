package generation

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/liveiso/liveiso/internal/fixture"
	"github.com/liveiso/liveiso/kernel"
)

// arm64Options are options for an arm64 image of a small rootfs with the
// arm64 fixture's kernel and unsigned GRUB.
func arm64Options(t *testing.T) (Options, fixture.Arm64) {
	t.Helper()
	a, err := fixture.Arm64Fixture()
	if err != nil {
		t.Fatalf("the arm64 cases need the arm64 fixture: %v", err)
	}
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "init"), "#!/bin/sh\n")
	return Options{
		Rootfs: root, Kernel: a.Kernel.Vmlinuz, EFILoader: a.Grub(), SecureBoot: SecureBootOff,
		UKIStub: a.UKIStub(), Initramfs: cacheOptions(t),
	}, a
}

func TestBuilderArch(t *testing.T) {
	opts, _ := arm64Options(t)
	b, err := NewBuilder(opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Arch() != kernel.ARM64 || b.loader != "" || b.efiLoader != opts.EFILoader {
		t.Errorf("arch %s, isolinux %q, EFI loader %q: want arm64 with the arm64 GRUB and no isolinux", b.Arch(), b.loader, b.efiLoader)
	}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want error
	}{
		{"--arch amd64", func(o *Options) { o.Arch = kernel.AMD64 }, ErrArchMismatch},
		{"--boot bios", func(o *Options) { o.Boot = Boot{BIOS: true} }, ErrBIOSOnArm64},
		{"--isolinux", func(o *Options) { o.Isolinux = "/usr/lib/ISOLINUX/isolinux.bin" }, ErrBIOSOnArm64},
	} {
		o := opts
		tc.edit(&o)
		if _, err := NewBuilder(o, slog.New(slog.DiscardHandler)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// --arch arm64 agrees; a kernel of no known format is taken to be of --arch.
	o := opts
	o.Arch = kernel.ARM64
	if b, err := NewBuilder(o, slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("--arch arm64: %v", err)
	} else {
		b.Close()
	}
	o.Kernel = filepath.Join(t.TempDir(), "vmlinuz")
	writeFile(t, o.Kernel, "not a kernel")
	if b, err := NewBuilder(o, slog.New(slog.DiscardHandler)); err != nil || b.Arch() != kernel.ARM64 {
		t.Errorf("an unknown kernel with --arch arm64: %v", err)
	} else {
		b.Close()
	}
}

// The UKI of an Image.gz carries the decompressed Image, which
// systemd-stub can start, decompressed once for every generation of the
// same kernel file.
func TestArm64UKIOfImageGz(t *testing.T) {
	opts, a := arm64Options(t)
	img, err := os.ReadFile(a.Kernel.Vmlinuz)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(img)
	zw.Close()
	opts.Kernel = filepath.Join(t.TempDir(), "Image.gz")
	writeFile(t, opts.Kernel, gz.String())
	opts.UKI = true
	b, err := NewBuilder(opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var first []byte
	for i := range 2 {
		g, err := b.Build(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var linux []byte
		for _, s := range g.UKI.Sections {
			if s.Name == ".linux" {
				linux = make([]byte, s.SizeBytes)
				if _, err := g.UKI.ReadAt(linux, s.Offset); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !bytes.Equal(linux, img) {
			t.Errorf("build %d: .linux of %d bytes, want the %d-byte Image", i+1, len(linux), len(img))
		}
		if i == 0 {
			first = b.image.data
		} else if &first[0] != &b.image.data[0] {
			t.Errorf("the Image was decompressed again for the second generation")
		}
		g.Release()
	}
}
