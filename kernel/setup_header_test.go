package kernel

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/liveiso/liveiso/internal/fixture"
)

// fixtureKernel reads the Debian test kernel scripts/setup.sh fetches.
func fixtureKernel(t *testing.T) (fixture.TestKernel, []byte) {
	t.Helper()
	k := fixture.MustKernel(t)
	data, err := os.ReadFile(k.Vmlinuz)
	if err != nil {
		t.Fatal(err)
	}
	return k, data
}

func TestVersionOfTheFixtureKernel(t *testing.T) {
	k, data := fixtureKernel(t)
	v, err := Version(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := Release(v); got != k.Release {
		t.Errorf("release %q (version %q), want %q from RELEASE", got, v, k.Release)
	}
	h, err := ReadSetupHeader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// Debian's kernels are built with boot protocol 2.15.
	if h.Version < protocolPayload || h.PayloadLength == 0 {
		t.Errorf("protocol %#x payload length %d: want 2.08+ with a payload", h.Version, h.PayloadLength)
	}
}

func TestVersionOfTruncatedFixtureKernel(t *testing.T) {
	_, data := fixtureKernel(t)
	for _, n := range []int{0, 0x100, 0x205, 0x260} {
		if _, err := Version(bytes.NewReader(data[:n])); !errors.Is(err, ErrNotBzImage) {
			t.Errorf("first %d bytes: err %v, want ErrNotBzImage", n, err)
		}
	}
	// The whole header but not the version string it points at.
	if _, err := Version(bytes.NewReader(data[:0x300])); !errors.Is(err, ErrNotBzImage) {
		t.Errorf("first 0x300 bytes: err %v, want ErrNotBzImage", err)
	}
}

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    []byte
		want    string
		wantErr error
	}{
		{"synthetic", synthKernel{version: debianVersion}.bytes(t), debianVersion, nil},
		{"no kernel_version", synthKernel{}.bytes(t), "", ErrNoVersion},
		{"protocol 1.x", synthKernel{version: "2.2.26", protocol: 0x0105}.bytes(t), "", ErrNoVersion},
		{"text file", []byte(sampleConfig + string(make([]byte, 1024))), "", ErrNotBzImage},
		{"ELF vmlinux", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 4096)...), "", ErrNotBzImage},
		{"empty", nil, "", ErrNotBzImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Version(bytes.NewReader(tc.file))
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("Version = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestVersionUnterminated(t *testing.T) {
	img := synthKernel{version: "x"}.bytes(t)
	for i := synthVersionOffset; i < len(img); i++ {
		img[i] = 'x'
	}
	if _, err := Version(bytes.NewReader(img)); !errors.Is(err, ErrNotBzImage) {
		t.Errorf("err %v, want ErrNotBzImage", err)
	}
}

func TestRelease(t *testing.T) {
	for v, want := range map[string]string{
		debianVersion:     "6.1.0-57-amd64",
		"6.12.1":          "6.12.1",
		"../../etc/x #1":  "",
		".. (evil)":       "",
		". (evil)":        "",
		"6.1/../../x y":   "",
		"":                "",
		"5.10.0-rt #1 SM": "5.10.0-rt",
	} {
		if got := Release(v); got != want {
			t.Errorf("Release(%q) = %q, want %q", v, got, want)
		}
	}
}

func FuzzVersion(f *testing.F) {
	f.Add(synthKernel{version: debianVersion}.bytes(f))
	f.Add(synthKernel{}.bytes(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Version(bytes.NewReader(data))
		if err == nil && (v == "" || bytes.IndexByte([]byte(v), 0) >= 0) {
			t.Errorf("Version = %q without an error", v)
		}
	})
}
