package agent

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/cavaliergopher/cpio"

	"github.com/liveiso/liveiso/cache"
)

// The member holds the binary as liveiso-agent, executable; a second call
// reads it from the cache directory; a dynamically linked binary is
// refused.
func TestMember(t *testing.T) {
	const static = "/bin/busybox" // busybox-static, as the test rootfs uses
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		m, unpacked, err := Member(MemberOptions{Exe: static, Compression: cache.None, CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		r := cpio.NewReader(io.NewSectionReader(m.Data, 0, m.SizeBytes))
		h, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(static)
		got, _ := io.ReadAll(r)
		if h.Name != "liveiso-agent" || h.Mode.Perm() != 0o755 || !h.Mode.IsRegular() || string(got) != string(want) {
			t.Errorf("entry %q mode %v, %d bytes; want liveiso-agent 0755 with the binary's %d bytes", h.Name, h.Mode, len(got), len(want))
		}
		if unpacked < int64(len(want)) {
			t.Errorf("unpacked %d bytes, less than the binary", unpacked)
		}
	}
	if _, _, err := Member(MemberOptions{Exe: "/bin/ls", Compression: cache.Gzip}); !errors.Is(err, ErrNotStatic) {
		t.Errorf("a dynamically linked binary: %v, want ErrNotStatic", err)
	}
}
