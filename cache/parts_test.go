package cache

import (
	"bytes"
	"io"
	"testing"
)

// The parts at their offsets, zeros between, are the initrd; the last is
// the trailer, and a compressed initrd's parts leave no gap.
func TestPartsAreTheInitrd(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members []Member
		gapless bool
	}{
		{"gzip", []Member{mem(Gzip, "\x1f\x8b one"), mem(Gzip, "\x1f\x8b three")}, true},
		{"none", []Member{mem(None, "0707one_"), mem(None, "0707two_")}, true},
		{"mixed", []Member{mem(Gzip, "\x1f\x8b odd"), mem(None, "0707abcd")}, false},
	} {
		r, err := Assemble(tc.members)
		if err != nil {
			t.Fatal(err)
		}
		parts := r.Parts()
		if len(parts) != len(tc.members)+1 || !parts[len(parts)-1].Trailer {
			t.Fatalf("%s: %d parts, last trailer %v", tc.name, len(parts), parts[len(parts)-1].Trailer)
		}
		got := make([]byte, r.Size())
		var concat []byte
		for _, p := range parts {
			b := make([]byte, p.SizeBytes)
			if _, err := p.Data.ReadAt(b, 0); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			copy(got[p.Offset:], b)
			concat = append(concat, b...)
		}
		want := make([]byte, r.Size())
		if _, err := r.ReadAt(want, 0); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the parts at their offsets are not the initrd", tc.name)
		}
		if tc.gapless != bytes.Equal(concat, want) {
			t.Errorf("%s: the parts concatenated equal the initrd: %v, want %v", tc.name, !tc.gapless, tc.gapless)
		}
	}
}

func mem(c Compression, s string) Member {
	return Member{Compression: c, SizeBytes: int64(len(s)), Data: bytes.NewReader([]byte(s))}
}
