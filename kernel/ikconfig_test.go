package kernel

import (
	"bytes"
	"errors"
	"testing"
)

func TestEmbeddedConfig(t *testing.T) {
	plain := vmlinux(t, sampleConfig)
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"gzip payload", withSize(gzipped(t, string(plain)), len(plain))},
		{"zstd payload", withSize(zstded(t, plain), len(plain))},
		{"uncompressed in the file", plain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := synthKernel{version: debianVersion, payload: tc.payload}.bytes(t)
			cfg, err := EmbeddedConfig(bytes.NewReader(img), int64(len(img)))
			if err != nil {
				t.Fatal(err)
			}
			if string(cfg) != sampleConfig {
				t.Errorf("config %q, want %q", cfg, sampleConfig)
			}
		})
	}
}

func TestEmbeddedConfigMissing(t *testing.T) {
	code := bytes.Repeat([]byte("no config here IKCFG_ST "), 1000)
	xz := append([]byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, make([]byte, 100)...)
	for _, tc := range []struct {
		name    string
		img     []byte
		wantErr error
	}{
		{"gzip payload without IKCONFIG", synthKernel{version: "6.1", payload: withSize(gzipped(t, string(code)), len(code))}.bytes(t), ErrNoEmbeddedConfig},
		{"zstd payload without IKCONFIG", synthKernel{version: "6.1", payload: zstded(t, code)}.bytes(t), ErrNoEmbeddedConfig},
		{"xz payload", synthKernel{version: "6.1", payload: xz}.bytes(t), ErrPayloadNotRead},
		{"protocol 2.07", synthKernel{version: "2.6.26", protocol: 0x0207, payload: xz}.bytes(t), ErrPayloadNotRead},
		{"payload past the end", synthKernel{version: "6.1", payload: xz}.bytes(t)[:1100], ErrNotBzImage},
		{"not a kernel", []byte(sampleConfig), ErrNotBzImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := EmbeddedConfig(bytes.NewReader(tc.img), int64(len(tc.img)))
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("EmbeddedConfig = %q, %v; want %v", cfg, err, tc.wantErr)
			}
		})
	}
}

// The Debian kernel has no CONFIG_IKCONFIG, and its payload is xz.
func TestEmbeddedConfigOfTheFixtureKernel(t *testing.T) {
	_, data := fixtureKernel(t)
	_, err := EmbeddedConfig(bytes.NewReader(data), int64(len(data)))
	if !errors.Is(err, ErrPayloadNotRead) {
		t.Errorf("err %v, want ErrPayloadNotRead (xz)", err)
	}
}

func TestAfterMarkerAcrossReads(t *testing.T) {
	marker := []byte("IKCFG_ST\x1f\x8b\x08")
	for _, at := range []int{0, 1, scanChunkBytes - 5, scanChunkBytes, scanChunkBytes + 3, 2*scanChunkBytes - 1} {
		data := make([]byte, at+len(marker)+3)
		copy(data[at:], marker)
		copy(data[at+len(marker):], "end")
		rest, err := after(bytes.NewReader(data), marker)
		if err != nil {
			t.Fatalf("marker at %d: %v", at, err)
		}
		var b bytes.Buffer
		b.ReadFrom(rest)
		if b.String() != "end" {
			t.Errorf("marker at %d: rest %q, want \"end\"", at, b.String())
		}
	}
}

func FuzzEmbeddedConfig(f *testing.F) {
	plain := vmlinux(f, sampleConfig)[1_199_000:] // the marker and a little around it
	f.Add(synthKernel{version: "6.1", payload: withSize(gzipped(f, string(plain)), len(plain))}.bytes(f))
	f.Add(synthKernel{version: "6.1", payload: zstded(f, plain)}.bytes(f))
	f.Add(plain)
	f.Fuzz(func(t *testing.T, img []byte) {
		cfg, err := EmbeddedConfig(bytes.NewReader(img), int64(len(img)))
		if err == nil && len(cfg) > maxConfigBytes {
			t.Errorf("config of %d bytes", len(cfg))
		}
	})
}
