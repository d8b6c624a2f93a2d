package isolayout

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testDate = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// pattern returns n deterministic, non-repeating-looking bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func file(name string, mode fs.FileMode, data []byte) *Node {
	return &Node{Name: name, Mode: mode, UID: 1000, GID: 100, Mtime: testDate.Add(-time.Hour),
		Size: int64(len(data)), Source: bytes.NewReader(data)}
}

func dir(name string, children ...*Node) *Node {
	return &Node{Name: name, Mode: fs.ModeDir | 0o755, Mtime: testDate.Add(-2 * time.Hour), Children: children}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (the isolinux and syslinux-common packages provide it)", err)
	}
	return b
}

// realTree is shaped like the image liveiso builds: isolinux files and the
// user's extra files at the root.
func realTree(t testing.TB, initrd []byte) (Input, map[string][]byte) {
	loader := mustRead(t, "/usr/lib/ISOLINUX/isolinux.bin")
	ldlinux := mustRead(t, "/usr/lib/syslinux/modules/bios/ldlinux.c32")
	cfg := []byte("serial 0 115200\nsay liveiso-isolayout-test\ndefault linux\nlabel linux\n  kernel vmlinuz\n  append initrd=initrd.img console=ttyS0\n")
	kernel := pattern(100_000, 1)
	big := pattern(3<<20, 2)
	initrdNode := file("initrd.img", 0o644, initrd)
	initrdNode.Volatile = true
	private := file("private key.pem", 0o640, []byte("secret\n"))
	private.UID, private.GID = 0, 42
	longName := strings.Repeat("A Very Long Mixed-Case Name", 5) + ".TxT"
	root := dir("",
		dir("isolinux",
			file("isolinux.bin", 0o444, loader),
			file("ldlinux.c32", 0o444, ldlinux),
			file("isolinux.cfg", 0o644, cfg),
			file("vmlinuz", 0o644, kernel),
			initrdNode,
		),
		file("install.cgz", 0o644, big),
		file(longName, 0o644, []byte("long\n")),
		file("with spaces & odd #chars!.txt", 0o600, []byte("odd\n")),
		file("Mixed.Case.Name.tar.gz", 0o644, pattern(5000, 3)),
		file("mixed.case.name.tar.gz", 0o644, pattern(5001, 4)),
		private,
		file("empty", 0o644, nil),
		&Node{Name: "link to install", Mode: fs.ModeSymlink | 0o777, Mtime: testDate, Target: "install.cgz"},
		&Node{Name: "abs-link", Mode: fs.ModeSymlink | 0o777, Mtime: testDate, Target: "/usr/lib/../share/./doc/" + strings.Repeat("x", 300)},
		&Node{Name: "setuid", Mode: 0o755 | fs.ModeSetuid, Mtime: testDate},
		dir("nested", dir("deeper", dir("deepest", file("leaf.txt", 0o644, []byte("leaf\n"))))),
		dir("Docs", file("README", 0o644, []byte("readme\n"))),
	)
	want := map[string][]byte{
		"isolinux/ldlinux.c32":           ldlinux,
		"isolinux/isolinux.cfg":          cfg,
		"isolinux/vmlinuz":               kernel,
		"isolinux/initrd.img":            initrd,
		"install.cgz":                    big,
		longName:                         []byte("long\n"),
		"nested/deeper/deepest/leaf.txt": []byte("leaf\n"),
		"private key.pem":                []byte("secret\n"),
		"empty":                          {},
	}
	return Input{
		VolumeID:      "LIVEISO",
		ApplicationID: "LIVEISO TEST",
		Date:          testDate,
		Root:          root,
		ElTorito: &ElTorito{
			CatalogPath:   "isolinux/boot.cat",
			LoaderPath:    "isolinux/isolinux.bin",
			Loader:        loader,
			LoadSectors:   4,
			BootInfoTable: true,
		},
		Joliet: &Joliet{},
	}, want
}

func readAll(t testing.TB, l *Layout) []byte {
	t.Helper()
	b := make([]byte, l.Size())
	if _, err := l.ReadAt(b, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return b
}

func writeImage(t testing.TB, l *Layout) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "image.iso")
	if err := os.WriteFile(path, readAll(t, l), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
