package generation

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/kernel"
)

// fakeBzImage is the smallest file kernel.Version reads as a bzImage of
// release: a setup header (boot.rst) and the version string it points at.
func fakeBzImage(t *testing.T, release string) []byte {
	t.Helper()
	img := make([]byte, 4096)
	h := kernel.SetupHeader{
		SetupSects: 1, BootFlag: 0xaa55, Header: [4]byte{'H', 'd', 'r', 'S'},
		Version: 0x020f, KernelVersion: 0x100, // the string at 0x300
	}
	if _, err := binary.Encode(img[0x1f1:], binary.LittleEndian, h); err != nil {
		t.Fatal(err)
	}
	copy(img[0x300:], release+" (test@example) #1 SMP\x00")
	return img
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestChooseCompression(t *testing.T) {
	const rel = "6.1.0-57-amd64"
	zstdOn, zstdOff := "CONFIG_RD_ZSTD=y\n", "# CONFIG_RD_ZSTD is not set\n"
	for _, tc := range []struct {
		name         string
		compression  cache.Compression
		hostKernel   bool   // --kernel outside the rootfs, else ROOTFS/boot/vmlinuz-REL
		besideKernel string // config-REL beside a host kernel
		inRootfs     string // ROOTFS/boot/config-REL
		userConfig   string // --kernel-config
		notBzImage   bool
		want         cache.Compression
		reason       string // in the reason
		hint         bool
	}{
		{name: "auto, config beside the host kernel", compression: AutoCompression, hostKernel: true, besideKernel: zstdOn, want: cache.Zstd, reason: "CONFIG_RD_ZSTD=y in "},
		{name: "auto, config in the rootfs", compression: AutoCompression, inRootfs: zstdOn, want: cache.Zstd, reason: "ROOTFS/boot/config-" + rel},
		{name: "auto, host kernel, config only in the rootfs", compression: AutoCompression, hostKernel: true, inRootfs: zstdOn, want: cache.Zstd, reason: "ROOTFS/boot/config-" + rel},
		{name: "auto, RD_ZSTD not set", compression: AutoCompression, inRootfs: zstdOff, want: cache.Gzip, reason: "CONFIG_RD_ZSTD is not set"},
		{name: "auto, user config wins", compression: AutoCompression, inRootfs: zstdOn, userConfig: zstdOff, want: cache.Gzip, reason: "--kernel-config"},
		{name: "auto, no config", compression: AutoCompression, hostKernel: true, want: cache.Gzip, reason: "no config-" + rel + " found", hint: true},
		{name: "auto, not a bzImage", compression: AutoCompression, hostKernel: true, besideKernel: zstdOn, notBzImage: true, want: cache.Gzip, reason: "not an x86 bzImage", hint: true},
		{name: "gzip asked for", compression: cache.Gzip, inRootfs: zstdOn, want: cache.Gzip, reason: "--compression gzip"},
		{name: "none asked for", compression: cache.None, inRootfs: zstdOn, want: cache.None, reason: "--compression none"},
		{name: "unset is gzip", compression: "", inRootfs: zstdOn, want: cache.Gzip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, host := t.TempDir(), t.TempDir()
			img := string(fakeBzImage(t, rel))
			if tc.notBzImage {
				img = "#!/bin/sh\n" + strings.Repeat("#", 4096)
			}
			opts := Options{Rootfs: root, Initramfs: cache.Options{Compression: tc.compression}}
			if tc.hostKernel {
				opts.Kernel = filepath.Join(host, "vmlinuz")
				writeFile(t, opts.Kernel, img)
			} else {
				writeFile(t, filepath.Join(root, "boot", "vmlinuz-"+rel), img)
			}
			if tc.besideKernel != "" {
				writeFile(t, filepath.Join(host, "config-"+rel), tc.besideKernel)
			}
			if tc.inRootfs != "" {
				writeFile(t, filepath.Join(root, "boot", "config-"+rel), tc.inRootfs)
			}
			if tc.userConfig != "" {
				opts.KernelConfig = filepath.Join(host, "my.config")
				writeFile(t, opts.KernelConfig, tc.userConfig)
			}
			c, err := chooseCompression(opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.Compression != tc.want || !strings.Contains(c.Reason, tc.reason) || (c.Hint != "") != tc.hint {
				t.Errorf("got %s, reason %q, hint %q; want %s, reason with %q, hint %v", c.Compression, c.Reason, c.Hint, tc.want, tc.reason, tc.hint)
			}
		})
	}
}

// The rootfs is not trusted: a config-VERSION that is a symlink is not
// followed, not even to a file that would say zstd.
func TestChooseCompressionIgnoresSymlinkedConfig(t *testing.T) {
	const rel = "6.1.0-57-amd64"
	root, outside := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(root, "boot", "vmlinuz-"+rel), string(fakeBzImage(t, rel)))
	writeFile(t, filepath.Join(outside, "config"), "CONFIG_RD_ZSTD=y\n")
	if err := os.Symlink(filepath.Join(outside, "config"), filepath.Join(root, "boot", "config-"+rel)); err != nil {
		t.Fatal(err)
	}
	c, err := chooseCompression(Options{Rootfs: root, Initramfs: cache.Options{Compression: AutoCompression}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Compression != cache.Gzip || c.Hint == "" {
		t.Errorf("got %s (%s); want gzip with a hint: the symlink must not be followed", c.Compression, c.Reason)
	}
}

func TestChooseCompressionUserConfigMissing(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "boot", "vmlinuz-6.1"), string(fakeBzImage(t, "6.1")))
	_, err := chooseCompression(Options{Rootfs: root, KernelConfig: filepath.Join(root, "nope"),
		Initramfs: cache.Options{Compression: AutoCompression}})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err %v, want ErrNotExist", err)
	}
}

// NewBuilder hands the packer the compression chosen, never "auto", and
// every generation says which it is.
func TestBuilderResolvesAuto(t *testing.T) {
	const rel = "6.1.0-57-amd64"
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "boot", "vmlinuz-"+rel), string(fakeBzImage(t, rel)))
	writeFile(t, filepath.Join(root, "boot", "config-"+rel), "CONFIG_RD_ZSTD=y\n")
	writeFile(t, filepath.Join(root, "init"), "#!/bin/sh\n")
	b, err := NewBuilder(Options{Rootfs: root, Boot: Boot{BIOS: true}, NoHybrid: true,
		Initramfs: cache.Options{Compression: AutoCompression}}, slog.New(slog.DiscardHandler))
	if errors.Is(err, ErrNoIsolinux) {
		t.Fatalf("isolinux is not installed: run make setup (scripts/setup.sh): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	g, err := b.Build(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Compression.Compression != cache.Zstd {
		t.Errorf("generation's compression %q (%s), want zstd", g.Compression.Compression, g.Compression.Reason)
	}
	// The initrd's first member is zstd (magic 28 b5 2f fd).
	magic := make([]byte, 4)
	if _, err := g.Initrd.ReadAt(magic, 0); err != nil || string(magic) != "\x28\xb5\x2f\xfd" {
		t.Errorf("initrd starts % x (%v), want a zstd frame", magic, err)
	}
}
