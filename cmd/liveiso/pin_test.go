package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The bytes of `liveiso build` for fixed inputs and explicit options are
// pinned: a change meant to keep behaviour (a refactor) must keep them. The
// inputs are synthetic (a small rootfs, a fake kernel, isolinux and GRUB
// image made here), so the hashes depend on liveiso alone, not on the
// packages installed. A change that means to change the bytes updates the
// hashes in the same commit and says why.
func TestPinnedImageHashes(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "liveiso")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in := writePinInputs(t)
	base := []string{
		"--rootfs", in.rootfs, "--kernel", in.kernel,
		"--isolinux", in.isolinux, "--efi-loader", in.efiLoader,
		"--append", "console=ttyS0 quiet", "--volume-id", "PINNED",
		"--root-owner",
		// Explicit: with shim installed, auto would put it in the ESP.
		"--secure-boot", "off",
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"gzip-bios-uefi-hybrid", []string{"--compression", "gzip", "--level", "9", "--boot", "bios,uefi"}, "7abb53478c563fdb86d1110a4e02814f739a80bfa48ce3847eaec06442f7de9a"},
		{"zstd-bios-uefi-hybrid", []string{"--compression", "zstd", "--level", "3", "--boot", "bios,uefi"}, "cee912731c96947d68215cc277fe75bcceb6c1aedabfb44a41075028b6b01330"},
		{"none-bios-cd", []string{"--compression", "none", "--boot", "bios", "--no-hybrid"}, "34f3d5c6e3e11bed54ea327d03df2b5bba0183784e6fe15be44b54f6acd469f2"},
		// none-bios-cd without the Joliet tree.
		{"none-bios-cd-no-joliet", []string{"--compression", "none", "--boot", "bios", "--no-hybrid", "--no-joliet"}, "024bafa2ae8e064987b2faa4b0eaae6ff7feac4aeaa61577cb90fe3293682957"},
		{"gzip-uefi-extra", []string{"--compression", "gzip", "--level", "6", "--boot", "uefi", "--extra", in.extra}, "b96e0d5a7c46cf15a755ebc88d555645f4109c16287ada0c7d8501838b435e4f"},
		{"zstd-bios-cfg-exclude-noinit", []string{"--compression", "zstd", "--level", "1", "--boot", "bios",
			"--isolinux-cfg", in.isolinuxCfg, "--exclude", "/var/cache/*", "--exclude", "*.pyc", "--no-auto-init"}, "2cd022e8f63dcdc9b9a9696296c1c19ffad26ae57a6d9647e85687043ffd11bd"},
		{"zstd-uefi-secureboot", []string{"--compression", "zstd", "--level", "3", "--boot", "uefi",
			"--secure-boot", "on", "--shim", in.shim}, "dac1b409023aa7045b7754e862231ee7060c660fcc2de53069140f416ecffe91"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image.iso")
			args := append([]string{"build", "-o", out, "--cache-dir", filepath.Join(t.TempDir(), "cache")}, base...)
			args = append(args, c.args...)
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("liveiso %s: %v\n%s", strings.Join(args, " "), err, b)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if got := hex.EncodeToString(sum[:]); got != c.want {
				t.Errorf("image sha256 %s (%d bytes), pinned %s", got, len(data), c.want)
			}
		})
	}
}

type pinInputs struct {
	rootfs, kernel, isolinux, efiLoader, extra, isolinuxCfg, shim string
}

// writePinInputs makes the pinned build's inputs with fixed contents, modes
// and times. Owners do not matter for the rootfs (--root-owner); the --extra
// tree's files are stored with their owners, so they are set to 0 (the
// tests run as root, like CI).
func writePinInputs(t *testing.T) pinInputs {
	t.Helper()
	dir := t.TempDir()
	in := pinInputs{
		rootfs:      filepath.Join(dir, "rootfs"),
		kernel:      filepath.Join(dir, "boot", "vmlinuz"),
		isolinux:    filepath.Join(dir, "syslinux", "isolinux.bin"),
		efiLoader:   filepath.Join(dir, "grub", "gcdx64.efi"),
		extra:       filepath.Join(dir, "extra"),
		isolinuxCfg: filepath.Join(dir, "isolinux.cfg"),
		shim:        filepath.Join(dir, "shim", "shimx64.efi.signed"),
	}
	pattern := func(n int, seed byte) []byte {
		b := make([]byte, n)
		x := uint32(seed) + 1
		for i := range b {
			x = x*1664525 + 1013904223
			b[i] = byte(x >> 24)
		}
		return b
	}
	// isolinux.bin carries isolinux's isohybrid signature at 0x40, so the
	// hybrid MBR may hand over to it.
	isolinux := pattern(40<<10, 2)
	binary.LittleEndian.PutUint32(isolinux[0x40:], 0x7078C0FB)
	type file struct {
		path string
		mode os.FileMode
		data []byte
	}
	files := []file{
		{in.kernel, 0o644, pattern(300<<10, 1)},
		{in.isolinux, 0o644, isolinux},
		{filepath.Join(dir, "syslinux", "isohdpfx.bin"), 0o644, pattern(512, 9)},
		{filepath.Join(dir, "syslinux", "ldlinux.c32"), 0o644, pattern(120<<10, 3)},
		{in.efiLoader, 0o644, pattern(200<<10, 4)},
		{in.shim, 0o644, pattern(150<<10, 10)},
		{filepath.Join(dir, "shim", "mmx64.efi.signed"), 0o644, pattern(90<<10, 11)},
		{in.isolinuxCfg, 0o644, []byte("default linux\nlabel linux\n  kernel vmlinuz\n  append initrd=initrd.img console=ttyS0\n")},
		{filepath.Join(in.rootfs, "init"), 0o755, []byte("#!/bin/sh\nexec /sbin/init \"$@\"\n")},
		{filepath.Join(in.rootfs, "etc/hostname"), 0o644, []byte("pinned\n")},
		{filepath.Join(in.rootfs, "etc/shadow"), 0o640, []byte("root:*:19000:0:99999:7:::\n")},
		{filepath.Join(in.rootfs, "bin/busybox"), 0o755, pattern(900<<10, 5)},
		{filepath.Join(in.rootfs, "usr/share/doc/big.bin"), 0o644, pattern(3<<20, 6)},
		{filepath.Join(in.rootfs, "usr/lib/mod.pyc"), 0o644, []byte("excluded by *.pyc\n")},
		{filepath.Join(in.rootfs, "var/cache/apt/pkgcache.bin"), 0o644, pattern(10<<10, 7)},
		{filepath.Join(in.extra, "install.cgz"), 0o644, pattern(64<<10, 8)},
		{filepath.Join(in.extra, "Docs/Read Me First.txt"), 0o640, []byte("extra\n")},
	}
	for i := range 200 {
		files = append(files, file{filepath.Join(in.rootfs, "usr/share/many", "f"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+hex.EncodeToString([]byte{byte(i)})), 0o644, pattern(100+i*37, byte(i))})
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f.path, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("busybox", filepath.Join(in.rootfs, "bin/sh")))
	must(os.Symlink("../../etc/hostname", filepath.Join(in.rootfs, "usr/share/hostname-link")))
	must(os.Link(filepath.Join(in.rootfs, "bin/busybox"), filepath.Join(in.rootfs, "bin/ls")))
	must(os.MkdirAll(filepath.Join(in.rootfs, "dev"), 0o755))
	must(os.MkdirAll(filepath.Join(in.rootfs, "tmp"), 0o755))
	must(os.Chmod(filepath.Join(in.rootfs, "tmp"), 0o1777))
	must(unix.Mkfifo(filepath.Join(in.rootfs, "dev/initctl"), 0o600))
	must(os.Symlink("install.cgz", filepath.Join(in.extra, "link to install")))
	if os.Geteuid() == 0 {
		must(filepath.Walk(in.extra, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, 0, 0)
		}))
	}
	// Times last, deepest first, so that no later change touches a
	// directory's mtime.
	var paths []string
	must(filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}))
	stamp := time.Unix(1690000000, 0)
	ts := []unix.Timespec{unix.NsecToTimespec(stamp.UnixNano()), unix.NsecToTimespec(stamp.UnixNano())}
	for i := len(paths) - 1; i >= 0; i-- {
		must(unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], ts, unix.AT_SYMLINK_NOFOLLOW))
	}
	if os.Geteuid() != 0 {
		t.Logf("not root: the --extra files keep uid %d, so the gzip-uefi-extra hash cannot match", os.Geteuid())
	}
	return in
}
