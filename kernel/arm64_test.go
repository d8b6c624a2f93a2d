package kernel

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/liveiso/liveiso/internal/fixture"
)

// arm64Kernel reads Debian's arm64 kernel scripts/setup.sh fetches.
func arm64Kernel(t *testing.T) (fixture.TestKernel, []byte) {
	t.Helper()
	a, err := fixture.Arm64Fixture()
	if err != nil {
		t.Fatalf("the arm64 cases need the arm64 fixture: %v", err)
	}
	data, err := os.ReadFile(a.Kernel.Vmlinuz)
	if err != nil {
		t.Fatal(err)
	}
	return a.Kernel, data
}

var (
	gzOnce sync.Once
	gzData []byte
)

// gzipped64 is the arm64 kernel as an Image.gz, made once per test binary.
func gzipped64(t *testing.T, img []byte) []byte {
	t.Helper()
	gzOnce.Do(func() {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		zw.Write(img)
		zw.Close()
		gzData = b.Bytes()
	})
	return gzData
}

// The first 64 bytes of Debian's linux-image-6.1.0-57-arm64 vmlinuz, as
// xxd shows them: "MZ" and a branch (the EFI stub), text_offset 0,
// image_size 0x2010000, flags 0xa (little-endian, 4K pages, anywhere),
// "ARM\x64", the PE header at 0x40.
var debianArm64Header = []byte{
	0x4d, 0x5a, 0x40, 0xfa, 0x56, 0xa3, 0x59, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x41, 0x52, 0x4d, 0x64, 0x40, 0x00, 0x00, 0x00,
}

func TestArm64HeaderGolden(t *testing.T) {
	h, err := decodeArm64Header(debianArm64Header)
	if err != nil {
		t.Fatal(err)
	}
	want := Arm64Header{Code0: 0xfa405a4d, Code1: 0x1459a356, ImageSize: 0x2010000, Flags: 0xa, Magic: [4]byte{'A', 'R', 'M', 0x64}, Res5: 0x40}
	if h != want {
		t.Errorf("header %+v, want %+v", h, want)
	}
	if h.BigEndian() || h.PageSizeKiB() != 4 || !h.EFIStub() {
		t.Errorf("big-endian %v, page %d KiB, EFI stub %v; want false, 4, true", h.BigEndian(), h.PageSizeKiB(), h.EFIStub())
	}
	// Encoding the struct gives the same bytes: every field is where
	// booting.rst puts it.
	enc, err := binary.Append(nil, binary.LittleEndian, h)
	if err != nil || !bytes.Equal(enc, debianArm64Header) {
		t.Errorf("re-encoded %x, %v", enc, err)
	}
}

func TestArm64HeaderOfTheFixtureKernel(t *testing.T) {
	_, data := arm64Kernel(t)
	if !bytes.Equal(data[:arm64HeaderBytes], debianArm64Header[:arm64HeaderBytes]) {
		// A newer Debian kernel changes code1 and image_size; the rest holds.
		t.Logf("the fixture's header differs from the golden one (a newer kernel?): %x", data[:arm64HeaderBytes])
	}
	h, err := ReadArm64Header(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if h.BigEndian() || h.PageSizeKiB() != 4 || !h.EFIStub() || h.ImageSize < uint64(len(data)) {
		t.Errorf("header %+v: want little-endian, 4K pages, the EFI stub, an image size of at least the file's %d bytes", h, len(data))
	}
	// Debian's arm64 kernel is a PE image too: "PE\0\0" where res5 points.
	if string(data[h.Res5:h.Res5+4]) != "PE\x00\x00" {
		t.Errorf("no PE signature at res5 0x%x", h.Res5)
	}
}

func TestIdentify(t *testing.T) {
	_, amd := fixtureKernel(t)
	_, arm := arm64Kernel(t)
	armGz := gzipped64(t, arm)
	notImage := gzipped(t, strings.Repeat("not a kernel", 100))
	for _, tc := range []struct {
		name    string
		file    []byte
		want    Kind
		wantErr []error
	}{
		{"Debian amd64 bzImage", amd, Kind{AMD64, BzImage}, nil},
		{"Debian arm64 Image", arm, Kind{ARM64, Image}, nil},
		{"the arm64 Image gzip-compressed", armGz, Kind{ARM64, ImageGz}, nil},
		{"a gzip file of something else", notImage, Kind{}, []error{ErrUnknownKernel}},
		{"the arm64 header cut short", arm[:0x3b], Kind{}, []error{ErrUnknownKernel, ErrNotArm64Image, ErrNotBzImage}},
		{"a text file", []byte(sampleConfig), Kind{}, []error{ErrUnknownKernel, ErrNotArm64Image, ErrNotBzImage}},
		{"empty", nil, Kind{}, []error{ErrUnknownKernel}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Identify(bytes.NewReader(tc.file), int64(len(tc.file)))
			for _, w := range tc.wantErr {
				if !errors.Is(err, w) {
					t.Errorf("err %v, want %v", err, w)
				}
			}
			if tc.wantErr == nil && err != nil {
				t.Errorf("err %v", err)
			}
			if got != tc.want {
				t.Errorf("Identify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestVersionOfArm64Kernels(t *testing.T) {
	k, arm := arm64Kernel(t)
	for name, file := range map[string][]byte{"Image": arm, "Image.gz": gzipped64(t, arm)} {
		v, err := VersionOf(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if Release(v) != k.Release || !strings.Contains(v, "debian-kernel@lists.debian.org") || strings.ContainsAny(v, "\n\x00") {
			t.Errorf("%s: version %q, want release %s", name, v, k.Release)
		}
	}
	// The amd64 kernel reads the same as Version reads it.
	_, amd := fixtureKernel(t)
	v1, err1 := VersionOf(bytes.NewReader(amd), int64(len(amd)))
	v2, err2 := Version(bytes.NewReader(amd))
	if v1 != v2 || err1 != nil || err2 != nil {
		t.Errorf("VersionOf %q %v, Version %q %v", v1, err1, v2, err2)
	}
}

// A format string "Linux version %s" before the banner is passed over; an
// Image without a banner is ErrNoVersion.
func TestImageVersionBanner(t *testing.T) {
	img := append([]byte{}, debianArm64Header...)
	img = append(img, "printk: Linux version %s\x00...Linux version 6.12.3-arm64 (me@host) #1 SMP\n\x00"...)
	v, err := VersionOf(bytes.NewReader(img), int64(len(img)))
	if err != nil || v != "6.12.3-arm64 (me@host) #1 SMP" {
		t.Errorf("VersionOf = %q, %v", v, err)
	}
	img = append(append([]byte{}, debianArm64Header...), make([]byte, 3*scanChunkBytes)...)
	if _, err := VersionOf(bytes.NewReader(img), int64(len(img))); !errors.Is(err, ErrNoVersion) {
		t.Errorf("no banner: err %v, want ErrNoVersion", err)
	}
}

// --compression auto finds config-RELEASE beside the arm64 kernel, for the
// Image and for an Image.gz; and an IKCONFIG inside an Image.gz.
func TestFindConfigOfArm64Kernels(t *testing.T) {
	k, arm := arm64Kernel(t)
	if k.Config == "" {
		t.Fatal("the arm64 fixture has no config beside vmlinuz")
	}
	cfg, err := os.ReadFile(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string][]byte{"Image": arm, "Image.gz": gzipped64(t, arm)} {
		dir := t.TempDir()
		kp := filepath.Join(dir, "vmlinuz")
		if err := os.WriteFile(filepath.Join(dir, "config-"+k.Release), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := FindConfig(Search{KernelPath: kp, Kernel: bytes.NewReader(file), KernelSize: int64(len(file))})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.Source != BesideKernel || f.Release != k.Release || !f.Config.Builtin(RDZstd) {
			t.Errorf("%s: found %v (release %s), RD_ZSTD %v", name, f, f.Release, f.Config.Builtin(RDZstd))
		}
		// Debian's arm64 kernel embeds no configuration.
		if _, err := EmbeddedConfig(bytes.NewReader(file), int64(len(file))); !errors.Is(err, ErrNoEmbeddedConfig) {
			t.Errorf("%s: EmbeddedConfig err %v, want ErrNoEmbeddedConfig", name, err)
		}
	}
	// An arm64 Image with IKCONFIG, plain and gzip-compressed.
	img := append(append([]byte{}, debianArm64Header...), vmlinux(t, zstdConfig)...)
	img = append(img, "Linux version 6.12.3-arm64 (me@host) #1 SMP\n\x00"...)
	for name, file := range map[string][]byte{"Image": img, "Image.gz": gzipped(t, string(img))} {
		f, err := FindConfig(Search{Kernel: bytes.NewReader(file), KernelSize: int64(len(file))})
		if err != nil || f.Source != Embedded || !f.Config.Builtin(RDZstd) || f.Release != "6.12.3-arm64" {
			t.Errorf("embedded in an %s: found %v (release %q), %v", name, f, f.Release, err)
		}
	}
}

func TestOpenImage(t *testing.T) {
	_, arm := arm64Kernel(t)
	gz := gzipped64(t, arm)
	r, err := OpenImage(bytes.NewReader(gz), int64(len(gz)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil || !bytes.Equal(b.Bytes(), arm) {
		t.Errorf("decompressed %d bytes (%v), want the %d-byte Image", b.Len(), err, len(arm))
	}
	_, amd := fixtureKernel(t)
	if _, err := OpenImage(bytes.NewReader(amd), int64(len(amd))); !errors.Is(err, ErrNotArm64Image) {
		t.Errorf("OpenImage of a bzImage: %v, want ErrNotArm64Image", err)
	}
}

func FuzzIdentify(f *testing.F) {
	f.Add(debianArm64Header)
	f.Add(gzipped(f, string(debianArm64Header)))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := Identify(bytes.NewReader(data), int64(len(data)))
		if err == nil && k.Arch == "" {
			t.Errorf("Identify = %v without an error", k)
		}
	})
}
