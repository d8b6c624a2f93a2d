package fat

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// nameParts are what fuzzed names are made of: valid short names, names
// that need long-name entries (case, spaces, dots, length, non-ASCII), and
// names whose numbered short names collide.
var nameParts = []string{
	"EFI", "BOOT", "A", "x", "README.md", "UPPER.TXT", "lower.txt", "Long Name",
	"name.with.dots", ".hidden", "ÄÖü", "~1", "A~1", "FILE~1.TXT", "trailing.",
	"a name longer than thirteen UTF-16 units", "12345678.123", "123456789",
}

// byteSource hands out the fuzzer's bytes, then zeros.
type byteSource []byte

func (b *byteSource) next() byte {
	if len(*b) == 0 {
		return 0
	}
	c := (*b)[0]
	*b = (*b)[1:]
	return c
}

func (b *byteSource) u16() int { return int(b.next())<<8 | int(b.next()) }

func (b *byteSource) date() time.Time {
	return time.Date(1980+int(b.next()%128), time.Month(1+b.next()%12), 1+int(b.next()%28),
		int(b.next()%24), int(b.next()%60), 2*int(b.next()%30), 0, time.UTC)
}

// inputFromBytes makes a planner input from fuzz data.
func inputFromBytes(data []byte) Input {
	src := byteSource(data)
	in := Input{
		VolumeID:       uint32(src.u16())<<16 | uint32(src.u16()),
		Date:           src.date(),
		ClusterSectors: 1 << (src.next() % 8),
	}
	switch src.next() % 4 {
	case 1:
		in.MinSizeBytes = 20 << 20 // FAT16 unless the clusters are large
	case 2:
		in.MinSizeBytes, in.ClusterSectors = 40<<20, 1 // FAT32
	}
	if l := int(src.next() % 12); l > 0 {
		in.Label = strings.Repeat("L", l)
	}
	for i := range int(src.next() % 12) {
		var parts []string
		for range 1 + int(src.next()%3) {
			p := nameParts[int(src.next())%len(nameParts)]
			if src.next()%2 == 1 {
				p += nameParts[int(src.next())%len(nameParts)]
			}
			parts = append(parts, p)
		}
		size := src.u16() % 9000
		if src.next()%16 == 0 {
			size *= 30
		}
		var mtime time.Time
		if src.next()%2 == 1 {
			mtime = src.date()
		}
		content := bytes.Repeat([]byte(fmt.Sprintf("<%d>", i)), size/3+1)[:size]
		in.Files = append(in.Files, File{Path: strings.Join(parts, "/"), Size: int64(size), Source: bytes.NewReader(content), Mtime: mtime})
	}
	return in
}

// checkPlan reads im back with the test's own reader and compares it with in.
func checkPlan(t *testing.T, in Input, im *Image) {
	t.Helper()
	got, err := readFAT(im, im.Size())
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if got.typ != im.Type() {
		t.Errorf("the cluster count makes it %v, the planner says %v", got.typ, im.Type())
	}
	if total, used := im.Clusters(); got.clusters != total || got.used != used {
		t.Errorf("clusters %d, %d used; the planner says %d, %d used", got.clusters, got.used, total, used)
	}
	if im.Size()%2048 != 0 || im.Size() < in.MinSizeBytes {
		t.Errorf("size %d (MinSizeBytes %d)", im.Size(), in.MinSizeBytes)
	}
	wantLabel := in.Label
	if wantLabel == "" {
		wantLabel = "NO NAME"
	}
	if got.bsLabel != wantLabel || got.label != in.Label || got.volumeID != in.VolumeID {
		t.Errorf("label %q (root entry %q), volume ID %#x; want %q, %#x", got.bsLabel, got.label, got.volumeID, in.Label, in.VolumeID)
	}
	wantDirs := map[string]bool{}
	for _, f := range in.Files {
		p := strings.Trim(f.Path, "/")
		for i := range len(p) {
			if p[i] == '/' {
				wantDirs[p[:i]] = true
			}
		}
		r, ok := got.files[p]
		if !ok {
			t.Errorf("%s: missing", p)
			continue
		}
		delete(got.files, p)
		want := make([]byte, f.Size)
		if f.Size > 0 {
			f.Source.ReadAt(want, 0)
		}
		if !bytes.Equal(r.data, want) {
			t.Errorf("%s: %d bytes read back, differing from the %d planned", p, len(r.data), len(want))
		}
		mt := f.Mtime
		if mt.IsZero() {
			mt = in.Date
		}
		if mt = mt.Truncate(2 * time.Second); !r.mtime.Equal(mt) {
			t.Errorf("%s: mtime %s, want %s", p, r.mtime, mt)
		}
	}
	for p := range got.files {
		t.Errorf("%s: not planned", p)
	}
	for d := range wantDirs {
		if !got.dirs[d] {
			t.Errorf("directory %s: missing", d)
		}
		delete(got.dirs, d)
	}
	for d := range got.dirs {
		t.Errorf("directory %s: not planned", d)
	}
}

// fuzzSeeds are pseudo-random inputs (fixed PCG seeds): between them they
// make images of all three FAT types (TestFuzzSeedsPassFsck checks).
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	for i := range uint64(16) {
		r := rand.New(rand.NewPCG(i, 2026))
		b := make([]byte, 128)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzPlan plans fuzzed inputs and reads each image back with a reader of
// the test's own: every file's bytes, name and date come back, chains are
// exact and disjoint, and the FAT type follows the specification's rule.
//
//	go test -run '^$' -fuzz FuzzPlan -fuzztime 300000x ./fat/
//
// (a count, not a duration: with a duration Go 1.26's coordinator may end
// with a spurious "context deadline exceeded", golang/go#75804).
func FuzzPlan(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := inputFromBytes(data)
		im, err := Plan(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Plan: %v: neither ErrInvalidInput nor ErrTooLarge", err)
			}
			return
		}
		checkPlan(t, in, im)
	})
}

// The fuzz seeds' images pass fsck.vfat too, the independent reader that
// TestToolsAgree also uses.
func TestFuzzSeedsPassFsck(t *testing.T) {
	if _, err := exec.LookPath("fsck.vfat"); err != nil {
		t.Fatal("fsck.vfat is not installed (Debian package dosfstools; scripts/setup.sh installs it)")
	}
	planned := map[Type]int{}
	for i, s := range fuzzSeeds() {
		in := inputFromBytes(s)
		im, err := Plan(in)
		if err != nil {
			t.Logf("seed %d: %v", i, err)
			continue
		}
		planned[im.Type()]++
		checkPlan(t, in, im)
		out, err := exec.Command("fsck.vfat", "-n", "-v", writeImage(t, im)).CombinedOutput()
		if err != nil || strings.Contains(string(out), "differ") || strings.Contains(string(out), "Wrong") {
			t.Errorf("seed %d (%v, %d files): fsck.vfat -n: %v\n%s", i, im.Type(), len(in.Files), err, out)
		}
	}
	if planned[FAT12] == 0 || planned[FAT16] == 0 || planned[FAT32] == 0 {
		t.Errorf("the seeds make images of %v, want every FAT type", planned)
	}
}
