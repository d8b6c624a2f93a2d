package isolayout

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/isolayout/internal/isoread"
)

// checkTree compares a tree read back from the image with the input tree.
func checkTree(t *testing.T, img *isoread.Image, want *Node, got *isoread.File, p string, extra map[string]bool) {
	t.Helper()
	if !got.HasRR {
		t.Errorf("%s: no Rock Ridge", p)
	}
	if got.Mode != posixModeRef(want.Mode) {
		t.Errorf("%s: mode %o, want %o", p, got.Mode, posixModeRef(want.Mode))
	}
	if got.UID != want.UID || got.GID != want.GID {
		t.Errorf("%s: owner %d:%d, want %d:%d", p, got.UID, got.GID, want.UID, want.GID)
	}
	mt := want.Mtime
	if mt.IsZero() {
		mt = testDate
	}
	if !got.Mtime.Equal(mt.Truncate(time.Second)) {
		t.Errorf("%s: mtime %v, want %v", p, got.Mtime, mt)
	}
	switch {
	case want.Mode.IsDir():
		byName := map[string]*isoread.File{}
		for _, c := range got.Children {
			byName[c.Name] = c
		}
		for _, c := range want.Children {
			g := byName[c.Name]
			if g == nil {
				t.Errorf("%s: %q missing", p, c.Name)
				continue
			}
			delete(byName, c.Name)
			checkTree(t, img, c, g, path.Join(p, c.Name), extra)
		}
		for name := range byName {
			if !extra[path.Join(p, name)] {
				t.Errorf("%s: unexpected %q", p, name)
			}
		}
	case want.Mode&fs.ModeSymlink != 0:
		if got.Target != cleanTarget(want.Target) {
			t.Errorf("%s: target %q, want %q", p, got.Target, cleanTarget(want.Target))
		}
	case want.Mode.IsRegular():
		if got.Size != want.Size {
			t.Errorf("%s: size %d, want %d", p, got.Size, want.Size)
		}
		if want.Size > bigFileBytes {
			checkBigFile(t, img, want, got, p)
			return
		}
		data, err := img.Data(got)
		if err != nil {
			t.Fatal(err)
		}
		src := make([]byte, want.Size)
		if want.Size > 0 {
			if _, err := want.Source.ReadAt(src, 0); err != nil && err != io.EOF {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(data, src) {
			t.Errorf("%s: contents differ", p)
		}
	}
}

// cleanTarget is a target as SL records it: without empty components.
func cleanTarget(s string) string {
	var parts []string
	for c := range strings.SplitSeq(s, "/") {
		if c != "" {
			parts = append(parts, c)
		}
	}
	j := strings.Join(parts, "/")
	if strings.HasPrefix(s, "/") {
		return "/" + j
	}
	return j
}

// posixModeRef is an independent table of st_mode values.
func posixModeRef(m fs.FileMode) uint32 {
	v := uint32(m.Perm())
	for _, b := range []struct {
		fm fs.FileMode
		v  uint32
	}{{fs.ModeSetuid, 0o4000}, {fs.ModeSetgid, 0o2000}, {fs.ModeSticky, 0o1000}} {
		if m&b.fm != 0 {
			v |= b.v
		}
	}
	switch m.Type() {
	case fs.ModeDir:
		return v | 0o040000
	case fs.ModeSymlink:
		return v | 0o120000
	case fs.ModeNamedPipe:
		return v | 0o010000
	case fs.ModeSocket:
		return v | 0o140000
	case fs.ModeDevice | fs.ModeCharDevice:
		return v | 0o020000
	case fs.ModeDevice:
		return v | 0o060000
	}
	return v | 0o100000
}

func readBack(t *testing.T, l *Layout) *isoread.Image {
	t.Helper()
	img, err := isoread.Read(l, l.Size())
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	return img
}

func TestRoundTripRealTree(t *testing.T) {
	in, _ := realTree(t, pattern(70_000, 9))
	l, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	img := readBack(t, l)
	if img.VolumeID != "LIVEISO" || img.ApplicationID != "LIVEISO TEST" || img.Created != "2024050607080900" {
		t.Errorf("PVD: %q %q %q", img.VolumeID, img.ApplicationID, img.Created)
	}
	loaderNode := in.Root.Children[0].Children[0]
	in.Root.Children[0].Children[0] = &Node{Name: loaderNode.Name, Mode: loaderNode.Mode, UID: loaderNode.UID, GID: loaderNode.GID,
		Mtime: loaderNode.Mtime, Size: loaderNode.Size, Source: patchedReader(t, img, in.ElTorito.Loader)}
	checkTree(t, img, in.Root, img.Root, "/", map[string]bool{"/isolinux/boot.cat": true})
	if img.CatalogLBA == 0 || img.Catalog[32] != 0x88 {
		t.Fatalf("boot catalog at %d: % x", img.CatalogLBA, img.Catalog)
	}
}

// patchedReader returns the loader as the image must hold it.
func patchedReader(t *testing.T, img *isoread.Image, loader []byte) io.ReaderAt {
	lba := uint32(img.Catalog[40]) | uint32(img.Catalog[41])<<8 | uint32(img.Catalog[42])<<16 | uint32(img.Catalog[43])<<24
	p, err := patchBootInfoTable(loader, lba)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(p)
}

// chooser is what randomTree draws from: a PRNG, or the fuzzer's bytes.
type chooser interface {
	IntN(n int) int
	Int64N(n int64) int64
}

// randomTree builds a random tree of extra files.
func randomTree(r chooser) *Node {
	const alphabet = "abcXYZ019 ._-~#&'()[]{}!@$%^+=,;äé"
	var inode int
	name := func() string {
		n := 1 + r.IntN(12)
		if r.IntN(8) == 0 {
			n = 30 + r.IntN(226) // long names, up to 255 bytes
		}
		var b strings.Builder
		for b.Len() < n {
			c := []rune(alphabet)[r.IntN(len([]rune(alphabet)))]
			if b.Len()+len(string(c)) > n {
				break
			}
			b.WriteRune(c)
		}
		s := b.String()
		if s == "." || s == ".." || s == "" {
			s = "x" + s
		}
		return s
	}
	var build func(depth int) *Node
	build = func(depth int) *Node {
		d := dir("")
		d.Mode = fs.ModeDir | fs.FileMode(0o700+r.IntN(0o100))
		seen := map[string]bool{}
		for range r.IntN(8) {
			inode++
			var c *Node
			switch k := r.IntN(10); {
			case k < 2 && depth < 10:
				c = build(depth + 1)
			case k < 4:
				target := strings.Repeat("../", r.IntN(3)) + name()
				if r.IntN(3) == 0 {
					target = "/" + strings.Repeat(name()+"/", r.IntN(30)) + "./" + name()
				}
				c = &Node{Mode: fs.ModeSymlink | 0o777, Target: target}
			case k < 5:
				c = &Node{Mode: fs.ModeDevice | fs.ModeCharDevice | 0o600, DevMajor: uint32(r.IntN(256)), DevMinor: uint32(r.IntN(1 << 20))}
			default:
				data := pattern(r.IntN(4*SectorSize+3), byte(inode))
				if r.IntN(4) == 0 {
					data = nil
				}
				c = file("", fs.FileMode(r.IntN(0o1000))|[]fs.FileMode{0, fs.ModeSetuid, fs.ModeSetgid, fs.ModeSticky}[r.IntN(4)], data)
				c.Volatile = r.IntN(5) == 0
			}
			c.Name = name()
			for seen[c.Name] {
				c.Name += "_"
			}
			seen[c.Name] = true
			c.UID, c.GID = uint32(r.IntN(70000)), uint32(r.IntN(70000))
			c.Mtime = time.Unix(r.Int64N(4e9), 0)
			if r.IntN(10) == 0 {
				c.Mtime = time.Time{}
			}
			d.Children = append(d.Children, c)
		}
		return d
	}
	return build(0)
}

func TestManyContinuationAreas(t *testing.T) {
	var children []*Node
	for i := range 40 {
		children = append(children,
			&Node{Name: fmt.Sprintf("%03d-%s", i, strings.Repeat("n", 250)), Mode: fs.ModeSymlink | 0o777, Mtime: testDate,
				Target: strings.Repeat("a/", 1000+i) + "end"}) // ~3 KB: a CE chain of two areas
	}
	root := dir("", children...)
	l, err := Plan(Input{Date: testDate, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	img := readBack(t, l)
	checkTree(t, img, root, img.Root, "/", nil)
}

// TestISONames checks the name policy directly: d-characters, length
// limits, uniqueness, and the names isolinux looks up.
func TestISONames(t *testing.T) {
	names := []string{"isolinux.bin", "ldlinux.c32", "vmlinuz", "initrd.img", "isolinux.cfg", "boot.cat",
		"A.b", "a.B", "a.b", ".bashrc", "x.tar.gz", strings.Repeat("long", 20) + ".extension-too-long", "spaces in name"}
	sort.Strings(names)
	dirs := make([]bool, len(names))
	got := uniqueISONames(names, dirs)
	want := map[string]string{
		"isolinux.bin": "ISOLINUX.BIN;1", "ldlinux.c32": "LDLINUX.C32;1", "vmlinuz": "VMLINUZ.;1",
		"initrd.img": "INITRD.IMG;1", "isolinux.cfg": "ISOLINUX.CFG;1", "boot.cat": "BOOT.CAT;1",
		"A.b": "A.B;1", "a.B": "A_1.B;1", "a.b": "A_2.B;1", ".bashrc": "_BASHRC.;1", "x.tar.gz": "X_TAR.GZ;1",
		"spaces in name": "SPACES_IN_NAME.;1",
		strings.Repeat("long", 20) + ".extension-too-long": "LONGLONGLONGLONGLONGLO.EXTENSIO;1",
	}
	for i, n := range names {
		if id := string(got[i].identifier()); id != want[n] {
			t.Errorf("%q -> %q, want %q", n, id, want[n])
		}
	}
}
