package rootfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// build creates a tree from a spec, one entry per line:
//
//	d PATH [MODE]          directory
//	f PATH [CONTENT]       regular file
//	l PATH TARGET          symlink
//	h PATH OLD             hard link to OLD
//	c PATH MAJOR MINOR     char device (b: block device)
//	p PATH                 FIFO
func build(t testing.TB, root, spec string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(spec), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		p := filepath.Join(root, f[1])
		var err error
		switch f[0] {
		case "d":
			err = os.MkdirAll(p, 0o755)
			if err == nil && len(f) > 2 {
				var m uint32
				fmt.Sscanf(f[2], "%o", &m)
				err = unix.Chmod(p, m)
			}
		case "f":
			err = os.WriteFile(p, []byte(strings.Join(f[2:], " ")), 0o644)
		case "l":
			err = os.Symlink(f[2], p)
		case "h":
			err = os.Link(filepath.Join(root, f[2]), p)
		case "c", "b":
			var maj, mnr uint32
			fmt.Sscan(f[2], &maj)
			fmt.Sscan(f[3], &mnr)
			typ := uint32(unix.S_IFCHR)
			if f[0] == "b" {
				typ = unix.S_IFBLK
			}
			err = unix.Mknod(p, typ|0o600, int(unix.Mkdev(maj, mnr)))
		case "p":
			err = unix.Mkfifo(p, 0o644)
		default:
			t.Fatalf("bad spec line %q", line)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func scan(t testing.TB, root string, excludes ...string) *Tree {
	t.Helper()
	tr, err := Scan(context.Background(), root, Options{Excludes: excludes})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func paths(tr *Tree) []string {
	var ps []string
	for _, e := range tr.Entries() {
		ps = append(ps, e.Path)
	}
	return ps
}

func entry(t *testing.T, tr *Tree, p string) *Entry {
	t.Helper()
	i := FindEntry(tr.Entries(), p)
	if i < 0 {
		t.Fatalf("no entry %q in %q", p, paths(tr))
	}
	return &tr.Entries()[i]
}

func needRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root (mknod)")
	}
}

func TestScanEntryTypes(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	build(t, root, `
d bin
f bin/sh #!/bin/sh
f bin/su s
d tmp 1777
d dev
c dev/console 5 1
b dev/sda 8 3
p run-fifo
l etc-link /etc
l bin-link bin
h bin/sh-hard bin/sh
d empty
f zero
`)
	if err := unix.Chmod(filepath.Join(root, "bin/su"), 0o4755|0o2000); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(root, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	tr := scan(t, root)
	want := []string{".", "bin", "bin/sh", "bin/sh-hard", "bin/su", "bin-link", "dev", "dev/console", "dev/sda",
		"empty", "etc-link", "run-fifo", "tmp", "zero"}
	if got := paths(tr); !slices.Equal(got, want) {
		t.Fatalf("paths\n got %q\nwant %q", got, want)
	}
	for _, c := range []struct {
		path   string
		mode   uint32
		size   int64
		target string
		rdev   uint64
	}{
		{"bin/sh", unix.S_IFREG | 0o644, 9, "", 0},
		{"bin/su", unix.S_IFREG | 0o6755, 1, "", 0},
		{"tmp", unix.S_IFDIR | 0o1777, 0, "", 0},
		{"dev/console", unix.S_IFCHR | 0o600, 0, "", unix.Mkdev(5, 1)},
		{"dev/sda", unix.S_IFBLK | 0o600, 0, "", unix.Mkdev(8, 3)},
		{"run-fifo", unix.S_IFIFO | 0o644, 0, "", 0},
		{"etc-link", unix.S_IFLNK | 0o777, 0, "/etc", 0},
		{"bin-link", unix.S_IFLNK | 0o777, 0, "bin", 0},
		{"zero", unix.S_IFREG | 0o644, 0, "", 0},
	} {
		e := entry(t, tr, c.path)
		if e.Mode != c.mode || e.Size != c.size || e.Target != c.target || e.Rdev != c.rdev {
			t.Errorf("%s: mode %#o size %d target %q rdev %#x; want %#o %d %q %#x",
				c.path, e.Mode, e.Size, e.Target, e.Rdev, c.mode, c.size, c.target, c.rdev)
		}
	}
	sh, hard := entry(t, tr, "bin/sh"), entry(t, tr, "bin/sh-hard")
	if sh.Ino != hard.Ino || sh.Dev != hard.Dev || sh.Nlink != 2 {
		t.Errorf("hard links: %+v %+v", sh, hard)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, "bin/sh"), &st); err != nil {
		t.Fatal(err)
	}
	if sh.MtimeNs != st.Mtim.Nano() || sh.CtimeNs != st.Ctim.Nano() || sh.UID != st.Uid {
		t.Errorf("times/owner %+v vs %+v", sh, st)
	}
	if len(tr.Warnings) != 1 || !strings.Contains(tr.Warnings[0], filepath.Join(root, "sock")) {
		t.Errorf("warnings %q, want one naming the socket", tr.Warnings)
	}
}

func TestScanOrder(t *testing.T) {
	root := t.TempDir()
	build(t, root, `
d a
f a/z
d a/b
f a/b/c
f a-b
f a.b
f B
f a0
`)
	if err := os.WriteFile(filepath.Join(root, "\xff\xfe"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{".", "B", "a", "a/b", "a/b/c", "a/z", "a-b", "a.b", "a0", "\xff\xfe"}
	for i := 0; i < 3; i++ {
		if got := paths(scan(t, root)); !slices.Equal(got, want) {
			t.Fatalf("order\n got %q\nwant %q", got, want)
		}
	}
	// The order is the ComparePaths order Rescan relies on.
	if !slices.IsSortedFunc(want, ComparePaths) {
		t.Error("ComparePaths disagrees with the scan order")
	}
}

func TestScanExcludes(t *testing.T) {
	root := t.TempDir()
	build(t, root, `
d var/cache/apt/archives
f var/cache/apt/pkgcache.bin
f var/cache/apt/archives/x.deb
f var/cache/other
d usr/lib/py/__pycache__
f usr/lib/py/__pycache__/m.pyc
f usr/lib/py/m.py
f usr/lib/py/m.pyc
f m.pyc
d proc/1
f proc/1/status
f proc-file
d logs
f logs/a.log
`)
	for _, c := range []struct {
		excludes []string
		gone     []string // excluded paths (their subtrees must be gone too)
	}{
		{nil, nil},
		{[]string{"/var/cache/apt/*"}, []string{"var/cache/apt/archives", "var/cache/apt/pkgcache.bin"}},
		{[]string{"*.pyc"}, []string{"usr/lib/py/__pycache__/m.pyc", "usr/lib/py/m.pyc", "m.pyc"}},
		{[]string{"__pycache__/"}, []string{"usr/lib/py/__pycache__"}},
		{[]string{"/proc/*", "/proc-file/"}, []string{"proc/1"}},
		{[]string{"/proc"}, []string{"proc"}},
		{[]string{"proc"}, []string{"proc"}},
		{[]string{"/usr/**/*.pyc"}, []string{"usr/lib/py/__pycache__/m.pyc", "usr/lib/py/m.pyc"}},
		{[]string{"var/cache"}, []string{"var/cache"}},
		{[]string{"/**/a.log"}, []string{"logs/a.log"}},
	} {
		all := paths(scan(t, root))
		got := paths(scan(t, root, c.excludes...))
		var want []string
	next:
		for _, p := range all {
			for _, g := range c.gone {
				if p == g || isUnder(p, g) {
					continue next
				}
			}
			want = append(want, p)
		}
		if !slices.Equal(got, want) {
			t.Errorf("excludes %q:\n got %q\nwant %q", c.excludes, got, want)
		}
	}
	if _, err := Scan(context.Background(), root, Options{Excludes: []string{"[a-"}}); !errors.Is(err, ErrBadPattern) {
		t.Errorf("bad pattern: %v", err)
	}
}

func TestScanNeverFollowsSymlinks(t *testing.T) {
	outside := t.TempDir()
	build(t, outside, "f secret s3cret\nd sub\nf sub/x x")
	root := t.TempDir()
	build(t, root, "l etc /etc\nl out "+outside+"\nl up ../..\nd d\nl d/s ../../")
	tr := scan(t, root)
	want := []string{".", "d", "d/s", "etc", "out", "up"}
	if got := paths(tr); !slices.Equal(got, want) {
		t.Fatalf("paths %q, want %q", got, want)
	}
	for _, e := range tr.Entries()[1:] {
		if e.Path != "d" && e.Mode&unix.S_IFMT != unix.S_IFLNK {
			t.Errorf("%s: mode %#o, want a symlink", e.Path, e.Mode)
		}
	}
	if tgt := entry(t, tr, "out").Target; tgt != outside {
		t.Errorf("target %q", tgt)
	}
}

func TestScanErrors(t *testing.T) {
	dir := t.TempDir()
	build(t, dir, "f file\nd real\nl link real")
	for _, c := range []struct {
		root string
		is   error
	}{
		{filepath.Join(dir, "missing"), fs.ErrNotExist},
		{filepath.Join(dir, "file"), ErrNotDir},
		{filepath.Join(dir, "link"), ErrNotDir},
	} {
		_, err := Scan(context.Background(), c.root, Options{})
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.root) {
			t.Errorf("Scan(%s) = %v, want %v naming the path", c.root, err, c.is)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Scan(ctx, dir, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestScanUnreadable checks that a directory the scanner cannot read gives
// an error naming it. Root bypasses permission bits, so as root the scan runs
// in a child process with another uid.
func TestScanUnreadable(t *testing.T) {
	if dir := os.Getenv("ROOTFS_TEST_SCAN"); dir != "" {
		_, err := Scan(context.Background(), dir, Options{})
		fmt.Printf("RESULT %v\n", err)
		// Then a file the scan can see but not read.
		tr, err := Scan(context.Background(), filepath.Join(dir, "a"), Options{})
		if err == nil {
			_, err = tr.Open(&tr.Entries()[FindEntry(tr.Entries(), "x")])
		}
		fmt.Printf("OPEN %v\n", err)
		return
	}
	base, err := os.MkdirTemp("", "rootfs-unreadable-") // t.TempDir's parent is 0700
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "root")
	build(t, base, "d root\nd root/a\nf root/a/x\nd root/locked 0\nf root/z")
	if err := os.Chmod(filepath.Join(root, "a/x"), 0); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		_, err = Scan(context.Background(), root, Options{})
		checkUnreadable(t, fmt.Sprint(err), root)
		return
	}
	// The test binary may sit in a directory only root can enter: copy it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "rootfs.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runAs(bin, 65534, "-test.run=^TestScanUnreadable$", "ROOTFS_TEST_SCAN="+root)
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	checkUnreadable(t, out, root)
	if want := "OPEN open " + filepath.Join(root, "a/x") + ": permission denied"; !strings.Contains(out, want) {
		t.Errorf("got %q, want %q", out, want)
	}
}

func checkUnreadable(t *testing.T, out, root string) {
	t.Helper()
	want := filepath.Join(root, "locked")
	if !strings.Contains(out, want) || !strings.Contains(out, "permission denied") {
		t.Errorf("got %q, want an error naming %s and permission denied", out, want)
	}
}

func TestRescanMatchesScan(t *testing.T) {
	needRoot(t)
	base := `
d etc
f etc/passwd root
f etc/hosts localhost
d usr/bin
f usr/bin/a a
f usr/bin/b b
d usr/lib/x
f usr/lib/x/1 1
f usr/lib/x/2 2
d var/cache/apt
f var/cache/apt/pkg p
l lib usr/lib
d dev
c dev/null 1 3
d a-b
f a0
`
	type edit func(t *testing.T, root string) []string
	run := func(cmds ...string) edit {
		return func(t *testing.T, root string) []string {
			var changed []string
			for _, c := range cmds {
				f := strings.Fields(c)
				p := filepath.Join(root, f[1])
				var err error
				switch f[0] {
				case "rm":
					err = os.RemoveAll(p)
				case "mv":
					err = os.Rename(p, filepath.Join(root, f[2]))
					changed = append(changed, f[2])
				case "chmod":
					var m uint32
					fmt.Sscanf(f[2], "%o", &m)
					err = unix.Chmod(p, m)
				case "touch":
					err = os.WriteFile(p, []byte("new "+c), 0o644)
				case "mkdir":
					err = os.MkdirAll(p, 0o755)
				case "ln":
					err = os.Symlink(f[2], p)
				case "sock":
					var l net.Listener
					l, err = net.Listen("unix", p)
					if err == nil {
						t.Cleanup(func() { l.Close() })
					}
				case "tree": // a deep subtree of files
					for i := 0; i < 3 && err == nil; i++ {
						d := filepath.Join(p, strings.Repeat("deep/", i+1))
						if err = os.MkdirAll(d, 0o755); err == nil {
							err = os.WriteFile(filepath.Join(d, fmt.Sprint("f", i)), []byte("x"), 0o644)
						}
					}
				case "report": // report a path without touching it
				}
				if err != nil {
					t.Fatal(err)
				}
				changed = append(changed, f[1])
			}
			return changed
		}
	}
	for _, c := range []struct {
		name     string
		excludes []string
		edit     edit
	}{
		{"create file", nil, run("touch usr/bin/c")},
		{"create top file", nil, run("touch zzz")},
		{"modify file", nil, run("touch etc/hosts")},
		{"delete file", nil, run("rm usr/bin/a")},
		{"rename file", nil, run("mv usr/bin/a usr/lib/x/a")},
		{"rename dir", nil, run("mv usr/lib/x usr/x")},
		{"chmod file", nil, run("chmod etc/passwd 600")},
		{"chmod dir", nil, run("chmod usr/lib 700")},
		{"file to dir", nil, run("rm etc/hosts", "mkdir etc/hosts", "touch etc/hosts/f")},
		{"dir to symlink", nil, run("rm usr/lib/x", "ln usr/lib/x /etc")},
		{"symlink to dir", nil, run("rm lib", "mkdir lib", "touch lib/f")},
		{"deep subtree, reported at its top", nil, run("tree usr/new")},
		{"deep subtree, reported at its leaves only", nil, func(t *testing.T, root string) []string {
			run("tree usr/new")(t, root)
			return []string{"usr/new/deep/f0", "usr/new/deep/deep/f1", "usr/new/deep/deep/deep/f2"}
		}},
		{"remove subtree", nil, run("rm usr")},
		{"remove subtree, reported below", nil, func(t *testing.T, root string) []string {
			run("rm usr")(t, root)
			return []string{"usr/lib/x/1"}
		}},
		{"excluded", []string{"/var/cache/apt/*"}, run("touch var/cache/apt/new", "touch var/cache/apt2")},
		{"below excluded", []string{"/var/cache/apt/*"}, run("mkdir var/cache/apt/d/e", "touch var/cache/apt/d/e/f")},
		{"socket", nil, run("sock usr/s", "touch usr/t")},
		{"unchanged sibling of socket", nil, func(t *testing.T, root string) []string {
			return []string{"usr/bin/a"} // the socket is added in setup below
		}},
		{"root", nil, run("touch x", "report .")},
		{"nothing", nil, func(*testing.T, string) []string { return []string{} }},
		{"several", nil, run("touch a-b/1", "rm a0", "chmod dev/null 666", "touch usr/lib/x/3", "rm etc/passwd")},
		{"names around a slash", nil, run("touch usr/lib/x-", "touch usr/lib/x.0", "mkdir usr/lib/x/y")},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			build(t, root, base)
			l, err := net.Listen("unix", filepath.Join(root, "usr/bin/sock"))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			opts := Options{Excludes: c.excludes}
			prev, err := Scan(context.Background(), root, opts)
			if err != nil {
				t.Fatal(err)
			}
			prevCopy := slices.Clone(prev.Entries())
			// A tree nobody reads any more, for RescanInto to recycle.
			old, err := Scan(context.Background(), root, opts)
			if err != nil {
				t.Fatal(err)
			}
			changed := c.edit(t, root)
			got, err := Rescan(context.Background(), prev, changed, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := scan(t, root, c.excludes...)
			into, err := RescanInto(context.Background(), prev, changed, opts, old)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(into.Entries(), want.Entries()) {
				t.Errorf("RescanInto(%q) entries differ from Scan:\n got %q\nwant %q", changed, paths(into), paths(want))
			}
			if !reflect.DeepEqual(got.Entries(), want.Entries()) {
				t.Errorf("Rescan(%q) entries differ from Scan:\n got %q\nwant %q", changed, paths(got), paths(want))
				for i := range min(len(got.Entries()), len(want.Entries())) {
					if got.Entries()[i] != want.Entries()[i] {
						t.Errorf("first difference:\n got %+v\nwant %+v", got.Entries()[i], want.Entries()[i])
						break
					}
				}
			}
			if !slices.Equal(got.Warnings, want.Warnings) {
				t.Errorf("warnings\n got %q\nwant %q", got.Warnings, want.Warnings)
			}
			if !reflect.DeepEqual(prev.Entries(), prevCopy) {
				t.Error("Rescan modified prev")
			}
		})
	}
}

// TestRescanIntoRecycles follows the Packer's use: each rescan builds its
// tree in the memory of the tree before the one it starts from, which the
// result then shares; the tree it starts from stays as it was.
func TestRescanIntoRecycles(t *testing.T) {
	root := t.TempDir()
	build(t, root, "d usr\nf usr/a 1\nf usr/b 2\nd etc\nf etc/c 3\n")
	ctx := context.Background()
	trees := []*Tree{scan(t, root)}
	for i := range 4 {
		p := []string{"usr/a", "usr/b", "etc/c", "usr/a"}[i]
		if err := os.WriteFile(filepath.Join(root, p), []byte(fmt.Sprint("edit ", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		prev := trees[len(trees)-1]
		var old *Tree
		if len(trees) > 1 {
			old = trees[len(trees)-2]
		}
		prevCopy := slices.Clone(prev.Entries())
		var oldBuf []Entry
		if old != nil {
			oldBuf = old.buf
		}
		got, err := RescanInto(ctx, prev, []string{p}, Options{}, old)
		if err != nil {
			t.Fatal(err)
		}
		if want := scan(t, root); !reflect.DeepEqual(got.Entries(), want.Entries()) {
			t.Errorf("step %d: %q, Scan: %q", i, paths(got), paths(want))
		}
		if !reflect.DeepEqual(prev.Entries(), prevCopy) {
			t.Errorf("step %d: RescanInto modified prev", i)
		}
		if old != nil && cap(oldBuf) >= len(prev.Entries())+16 && &got.Entries()[0] != &oldBuf[0] {
			t.Errorf("step %d: a new entry slice, old's had room", i)
		}
		if i == 3 && &got.Entries()[0] != &oldBuf[0] {
			// Trees made by Rescan keep room for a few more entries, so
			// from the third rescan on every one is recycled.
			t.Error("the fourth rescan did not reuse the second's entries")
		}
		trees = append(trees, got)
	}
}

// A tree handed to RescanInto is consumed, whatever the call returns: every
// later use panics with a message that names RescanInto, rather than read
// entries that belong to the new tree.
func TestRescanIntoConsumes(t *testing.T) {
	root := t.TempDir()
	build(t, root, "d usr\nf usr/a 1\nf usr/b 2\n")
	ctx := context.Background()
	mustPanic := func(t *testing.T, what string, f func()) {
		t.Helper()
		defer func() {
			r := recover()
			if msg, _ := r.(string); !strings.Contains(msg, "RescanInto consumed") || !strings.Contains(msg, root) {
				t.Errorf("%s of a consumed tree: recovered %v, want a panic naming RescanInto and %s", what, r, root)
			}
		}()
		f()
	}
	for _, c := range []struct {
		name    string
		changed []string
	}{{"recycled", []string{"usr/a"}}, {"nothing changed", []string{}}, {"rescanned whole", nil}} {
		t.Run(c.name, func(t *testing.T) {
			prev, old := scan(t, root), scan(t, root)
			e := old.Entries()[1]
			got, err := RescanInto(ctx, prev, c.changed, Options{}, old)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Entries(), scan(t, root).Entries()) {
				t.Errorf("RescanInto: %q", paths(got))
			}
			mustPanic(t, "Entries", func() { old.Entries() })
			mustPanic(t, "Open", func() { old.Open(&e) })
			mustPanic(t, "Opener", func() { old.Opener() })
			mustPanic(t, "Rescan", func() { Rescan(ctx, old, []string{"usr/a"}, Options{}) })
			mustPanic(t, "RescanInto", func() { RescanInto(ctx, got, []string{"usr/a"}, Options{}, old) })
			// prev is not consumed: it may still be read, and recycled next.
			f, err := prev.Open(&prev.Entries()[2])
			if err != nil {
				t.Fatalf("prev after RescanInto: %v", err)
			}
			f.Close()
		})
	}
}

func TestRescanOptionsChange(t *testing.T) {
	root := t.TempDir()
	build(t, root, "f a.pyc\nf b")
	prev := scan(t, root)
	got, err := Rescan(context.Background(), prev, []string{"b"}, Options{Excludes: []string{"*.pyc"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".", "b"}; !slices.Equal(paths(got), want) {
		t.Errorf("got %q, want %q", paths(got), want)
	}
	if _, err := Rescan(context.Background(), prev, []string{"../etc"}, Options{}); err == nil {
		t.Error("a changed path outside the rootfs was accepted")
	}
}

// A hard link added or removed, or a write or chmod through one name,
// changes the stat data of the file's other names, which no watcher reports:
// Rescan must refresh them too.
func TestRescanHardLinks(t *testing.T) {
	base := `
f a aaa
h b a
f c ccc
d d
h d/x c
f e eee
`
	for _, c := range []struct {
		name    string
		edit    func(root string) error
		changed []string
	}{
		{"add a link to a single file", func(root string) error {
			return os.Link(filepath.Join(root, "e"), filepath.Join(root, "f"))
		}, []string{"f"}},
		{"remove a link", func(root string) error {
			return os.Remove(filepath.Join(root, "b"))
		}, []string{"b"}},
		{"chmod through one name", func(root string) error {
			return os.Chmod(filepath.Join(root, "b"), 0o600)
		}, []string{"b"}},
		{"write through one name", func(root string) error {
			return os.WriteFile(filepath.Join(root, "b"), []byte("longer content"), 0o644)
		}, []string{"b"}},
		{"remove a directory holding a link", func(root string) error {
			return os.RemoveAll(filepath.Join(root, "d"))
		}, []string{"d"}},
		{"add a directory holding a link", func(root string) error {
			if err := os.Mkdir(filepath.Join(root, "n"), 0o755); err != nil {
				return err
			}
			return os.Link(filepath.Join(root, "a"), filepath.Join(root, "n/y"))
		}, []string{"n"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			build(t, root, base)
			prev := scan(t, root)
			time.Sleep(10 * time.Millisecond) // a ctime the edit visibly changes
			if err := c.edit(root); err != nil {
				t.Fatal(err)
			}
			got, err := Rescan(context.Background(), prev, c.changed, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := scan(t, root)
			if !reflect.DeepEqual(got.Entries(), want.Entries()) {
				for i := range min(len(got.Entries()), len(want.Entries())) {
					if got.Entries()[i] != want.Entries()[i] {
						t.Errorf("Rescan(%q) differs from Scan:\n got %+v\nwant %+v", c.changed, got.Entries()[i], want.Entries()[i])
					}
				}
				if len(got.Entries()) != len(want.Entries()) {
					t.Errorf("Rescan(%q): %q, Scan: %q", c.changed, paths(got), paths(want))
				}
			}
		})
	}
}
