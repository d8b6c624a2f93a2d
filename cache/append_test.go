package cache

import (
	"bytes"
	"io"
	"testing"

	"github.com/liveiso/liveiso/newc"
)

func rawMember(t *testing.T, name, data string) Member {
	t.Helper()
	var b bytes.Buffer
	w := newc.NewWriter(&b)
	if err := w.WriteHeader(&newc.Header{Name: name, Mode: 0o100644, Nlink: 1, Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(data))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return Member{Compression: None, SizeBytes: int64(b.Len()), Data: bytes.NewReader(b.Bytes())}
}

func readAll(t *testing.T, r *Initrd) []byte {
	t.Helper()
	b, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WithMembers puts the extra members after the others and before the one
// trailer: the same bytes as assembling them all, and the original is
// unchanged.
func TestWithMembers(t *testing.T) {
	a, b := rawMember(t, "etc/marker", "rootfs"), rawMember(t, "liveiso-agent", "agent")
	base, err := Assemble([]Member{a})
	if err != nil {
		t.Fatal(err)
	}
	before := readAll(t, base)
	with, err := base.WithMembers(b)
	if err != nil {
		t.Fatal(err)
	}
	all, err := Assemble([]Member{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readAll(t, with), readAll(t, all); !bytes.Equal(got, want) {
		t.Errorf("WithMembers: %d bytes, differ from Assemble of all (%d bytes)", len(got), len(want))
	}
	if got := readAll(t, base); !bytes.Equal(got, before) {
		t.Errorf("WithMembers changed the initrd it was called on")
	}
	if n := bytes.Count(readAll(t, with), []byte(newc.TrailerName)); n != 1 {
		t.Errorf("%d trailers, want 1", n)
	}
}
