package kernel

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

const (
	zstdConfig   = "CONFIG_RD_GZIP=y\nCONFIG_RD_ZSTD=y\n"
	noZstdConfig = "CONFIG_RD_GZIP=y\n# CONFIG_RD_ZSTD is not set\n"
)

// lookupCase is a kernel at dir/vmlinuz with the configurations put in
// each place FindConfig looks; "" leaves a place empty.
type lookupCase struct {
	userFile, beside, rootfs, embedded string
}

func (c lookupCase) search(t *testing.T) Search {
	t.Helper()
	dir := t.TempDir()
	var payload []byte
	if c.embedded != "" {
		payload = vmlinux(t, c.embedded)
		payload = withSize(gzipped(t, string(payload)), len(payload))
	} else {
		payload = withSize(gzipped(t, "no config"), 9)
	}
	img := synthKernel{version: debianVersion, payload: payload}.bytes(t)
	s := Search{KernelPath: filepath.Join(dir, "vmlinuz"), Kernel: bytes.NewReader(img), KernelSize: int64(len(img)), Rootfs: fstest.MapFS{}}
	write := func(p, content string) {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(s.KernelPath, string(img))
	if c.userFile != "" {
		s.ConfigFile = filepath.Join(dir, "my.config")
		write(s.ConfigFile, c.userFile)
	}
	if c.beside != "" {
		write(filepath.Join(dir, "config-6.1.0-57-amd64"), c.beside)
	}
	if c.rootfs != "" {
		s.Rootfs = fstest.MapFS{"boot/config-6.1.0-57-amd64": {Data: []byte(c.rootfs)}}
	}
	return s
}

func TestFindConfigOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		c        lookupCase
		want     Source
		wantZstd bool
	}{
		{"user file wins", lookupCase{userFile: noZstdConfig, beside: zstdConfig, rootfs: zstdConfig, embedded: zstdConfig}, FromFile, false},
		{"beside the kernel", lookupCase{beside: zstdConfig, rootfs: noZstdConfig, embedded: noZstdConfig}, BesideKernel, true},
		{"in the rootfs", lookupCase{rootfs: noZstdConfig, embedded: zstdConfig}, InRootfs, false},
		{"embedded", lookupCase{embedded: zstdConfig}, Embedded, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.c.search(t)
			f, err := FindConfig(s)
			if err != nil {
				t.Fatal(err)
			}
			if f.Source != tc.want || f.Config.Builtin(RDZstd) != tc.wantZstd {
				t.Errorf("found %v (source %d), RD_ZSTD %v; want source %d, RD_ZSTD %v", f, f.Source, f.Config.Builtin(RDZstd), tc.want, tc.wantZstd)
			}
			if tc.want != FromFile && f.Release != "6.1.0-57-amd64" {
				t.Errorf("release %q", f.Release)
			}
		})
	}
}

func TestFindConfigNone(t *testing.T) {
	s := lookupCase{}.search(t)
	_, err := FindConfig(s)
	if !errors.Is(err, ErrNoConfig) {
		t.Fatalf("err %v, want ErrNoConfig", err)
	}
	// The reason names every place looked at.
	for _, want := range []string{filepath.Dir(s.KernelPath) + "/config-6.1.0-57-amd64 (missing)", "ROOTFS/boot/config-6.1.0-57-amd64 (missing)", "the kernel itself"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestFindConfigUserFileMissing(t *testing.T) {
	s := lookupCase{beside: zstdConfig}.search(t)
	s.ConfigFile = filepath.Join(t.TempDir(), "nope")
	if _, err := FindConfig(s); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err %v, want ErrNotExist: a file the user named must exist", err)
	}
}

func TestFindConfigNotBzImage(t *testing.T) {
	s := lookupCase{beside: zstdConfig}.search(t)
	s.Kernel = strings.NewReader("#!/bin/sh\n" + strings.Repeat("x", 1000))
	if _, err := FindConfig(s); !errors.Is(err, ErrNotBzImage) {
		t.Errorf("err %v, want ErrNotBzImage", err)
	}
	// The user's file does not need a bzImage.
	s.ConfigFile = filepath.Join(filepath.Dir(s.KernelPath), "config-6.1.0-57-amd64")
	if f, err := FindConfig(s); err != nil || !f.Config.Builtin(RDZstd) {
		t.Errorf("with --kernel-config: %v, %v", f, err)
	}
}

// A version string that names a path outside the kernel's directory is
// not looked up.
func TestFindConfigHostileRelease(t *testing.T) {
	s := lookupCase{}.search(t)
	img := synthKernel{version: "../../etc/passwd #1", payload: []byte("x")}.bytes(t)
	s.Kernel, s.KernelSize = bytes.NewReader(img), int64(len(img))
	if _, err := FindConfig(s); !errors.Is(err, ErrNoConfig) {
		t.Errorf("err %v, want ErrNoConfig", err)
	}
}

func TestFindConfigOfTheFixtureKernel(t *testing.T) {
	k, data := fixtureKernel(t)
	f, err := FindConfig(Search{KernelPath: k.Vmlinuz, Kernel: bytes.NewReader(data), KernelSize: int64(len(data))})
	if k.Config == "" {
		t.Fatalf("the fixture has no config-%s beside vmlinuz (made before scripts/setup.sh kept it); rerun scripts/setup.sh", k.Release)
	}
	// The same kernel alone in a directory: no config anywhere, and the
	// xz payload is not read for an embedded one.
	alone := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(alone, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindConfig(Search{KernelPath: alone, Kernel: bytes.NewReader(data), KernelSize: int64(len(data))}); !errors.Is(err, ErrNoConfig) || !strings.Contains(err.Error(), "xz") {
		t.Errorf("the fixture kernel without its config: err %v, want ErrNoConfig naming xz", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if f.Source != BesideKernel || f.Path != k.Config || !f.Config.Builtin(RDZstd) {
		t.Errorf("found %v (source %d) RD_ZSTD %v; want %s beside the kernel with RD_ZSTD=y", f, f.Source, f.Config.Builtin(RDZstd), k.Config)
	}
}

// A FIFO found beside the kernel is passed over, not read (it would block);
// the next place is looked at.
func TestFindConfigFIFOBesideKernel(t *testing.T) {
	s := lookupCase{rootfs: zstdConfig}.search(t)
	if err := syscall.Mkfifo(filepath.Join(filepath.Dir(s.KernelPath), "config-6.1.0-57-amd64"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var f Found
	var err error
	go func() { f, err = FindConfig(s); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("FindConfig blocked on a FIFO beside the kernel")
	}
	if err != nil || f.Source != InRootfs {
		t.Errorf("found %v (source %d), %v; want the rootfs's config", f, f.Source, err)
	}
}

// The user may name a pipe: --kernel-config <(zcat /proc/config.gz).
func TestFindConfigUserPipe(t *testing.T) {
	s := lookupCase{}.search(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { w.WriteString(zstdConfig); w.Close() }()
	s.ConfigFile = "/dev/fd/" + strconv.Itoa(int(r.Fd()))
	f, err := FindConfig(s)
	if err != nil || f.Source != FromFile || !f.Config.Builtin(RDZstd) {
		t.Errorf("found %v, %v; want RD_ZSTD=y from the pipe", f, err)
	}
}

func TestFindConfigTooLarge(t *testing.T) {
	s := lookupCase{}.search(t)
	s.Rootfs = fstest.MapFS{"boot/config-6.1.0-57-amd64": {Data: make([]byte, maxConfigBytes+1)}}
	if _, err := FindConfig(s); !errors.Is(err, ErrNoConfig) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err %v, want ErrNoConfig saying the file is too large", err)
	}
}
