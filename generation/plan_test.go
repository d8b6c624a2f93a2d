package generation

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/isolayout"
)

// cdEntry is what a test checks of one node of the CD tree.
type cdEntry struct {
	mode  fs.FileMode
	mtime time.Time
	data  string // regular files, when the test names it; "?" for any
}

// flatten maps each path of the tree under root to its entry.
func flatten(t *testing.T, root *isolayout.Node) map[string]cdEntry {
	t.Helper()
	out := map[string]cdEntry{}
	var walk func(n *isolayout.Node, prefix string)
	walk = func(n *isolayout.Node, prefix string) {
		for _, c := range n.Children {
			p := prefix + c.Name
			if _, dup := out[p]; dup {
				t.Errorf("%s: twice in the tree", p)
			}
			e := cdEntry{mode: c.Mode, mtime: c.Mtime}
			if c.Mode.IsRegular() {
				b, err := io.ReadAll(io.NewSectionReader(c.Source, 0, c.Size))
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				e.data = string(b)
			}
			out[p] = e
			walk(c, p+"/")
		}
	}
	walk(root, "")
	return out
}

var (
	tKernel  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tLoader  = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	tLdlinux = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tEFI     = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC) // newer than the boot files: it dates only the ESP
	tCfg     = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	tExtra   = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tRootfs  = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	tSDE     = time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)
)

func bytesFile(s string, mtime time.Time) file {
	return file{Source: strings.NewReader(s), Size: int64(len(s)), Mtime: mtime}
}

// loaderBytes is long enough for the boot-info-table the planner patches,
// with isohybrid's magic at offset 0x40 (0x7078C0FB, little-endian).
var loaderBytes = "ISOLINUX" + strings.Repeat("\x00", 56) + "\xfb\xc0\x78\x70" + strings.Repeat("\x00", 1980)

func bios() *biosFiles {
	return &biosFiles{Loader: []byte(loaderBytes), LoaderMtime: tLoader, Ldlinux: bytesFile("LDLINUX", tLdlinux)}
}

func uefi() *file {
	f := bytesFile(strings.Repeat("MZ", 1000), tEFI)
	return &f
}

func gatheredWith(b *biosFiles, u *file, extra ...*isolayout.Node) gathered {
	g := gathered{
		Kernel: bytesFile("KERNEL", tKernel),
		Initrd: bytesFile("INITRD", tRootfs),
		BIOS:   b, UEFI: u,
		Extra: extra, ExtraDir: "/extra",
	}
	if b != nil { // isohdpfx.bin is looked for beside isolinux.bin
		g.MBRCode = bytes.Repeat([]byte{0xfa}, 440)
	}
	return g
}

const (
	dirMode = fs.ModeDir | 0o555
	roMode  = fs.FileMode(0o444)
	anyData = "?"
)

func TestPlanCDTree(t *testing.T) {
	sde := tSDE
	genCfg := "default linux\nlabel linux\n  kernel vmlinuz\n  append initrd=initrd.img console=ttyS0\n"
	grubCfg := "set default=0\nset timeout=0\nmenuentry \"liveiso\" {\n\tlinux /isolinux/vmlinuz console=ttyS0\n\tinitrd /isolinux/initrd.img\n}\n"
	userCfg := bios()
	userCfg.Config = &file{Source: strings.NewReader("default mine\n"), Size: 13, Mtime: tCfg}
	extraTree := &isolayout.Node{Name: "docs", Mode: fs.ModeDir | 0o755, Mtime: tKernel, Children: []*isolayout.Node{
		{Name: "README", Mode: 0o644, Mtime: tExtra, Size: 2, Source: strings.NewReader("hi")},
	}}

	biosTree := func(stable, rootfs time.Time) map[string]cdEntry {
		return map[string]cdEntry{
			"isolinux":              {dirMode, stable, ""},
			"isolinux/vmlinuz":      {roMode, tKernel, "KERNEL"},
			"isolinux/isolinux.bin": {roMode, tLoader, loaderBytes},
			"isolinux/ldlinux.c32":  {roMode, tLdlinux, "LDLINUX"},
			"isolinux/isolinux.cfg": {roMode, stable, genCfg},
			"isolinux/initrd.img":   {roMode, rootfs, "INITRD"},
		}
	}
	uefiTree := func(stable time.Time) map[string]cdEntry {
		return map[string]cdEntry{
			"boot":               {dirMode, stable, ""},
			"boot/efi.img":       {roMode, tEFI, anyData}, // package efiboot checks the ESP
			"boot/grub":          {dirMode, stable, ""},
			"boot/grub/grub.cfg": {roMode, stable, grubCfg},
			".disk":              {dirMode, stable, ""},
			".disk/info":         {roMode, stable, "liveiso TEST\n"},
		}
	}
	union := func(ms ...map[string]cdEntry) map[string]cdEntry {
		out := map[string]cdEntry{}
		for _, m := range ms {
			maps.Copy(out, m)
		}
		return out
	}
	biosET := isolayout.ElTorito{CatalogPath: "isolinux/boot.cat", LoaderPath: "isolinux/isolinux.bin", Loader: []byte(loaderBytes), LoadSectors: 4, BootInfoTable: true}
	uefiET := isolayout.ElTorito{CatalogPath: "isolinux/boot.cat", EFIImagePath: "boot/efi.img"}
	bothET := biosET
	bothET.EFIImagePath = "boot/efi.img"
	stableBIOS := tLdlinux // the newest of kernel, isolinux.bin, ldlinux.c32

	cases := []struct {
		name     string
		g        gathered
		o        planOptions
		tree     map[string]cdEntry
		date     time.Time
		et       isolayout.ElTorito
		noHybrid bool
	}{
		{
			name: "BIOS only, dated by the inputs",
			g:    gatheredWith(bios(), nil),
			tree: biosTree(stableBIOS, tRootfs), date: tRootfs, et: biosET,
		},
		{
			name: "UEFI only: the kernel alone dates the boot files",
			g:    gatheredWith(nil, uefi()),
			tree: union(map[string]cdEntry{
				"isolinux":            {dirMode, tKernel, ""},
				"isolinux/vmlinuz":    {roMode, tKernel, "KERNEL"},
				"isolinux/initrd.img": {roMode, tRootfs, "INITRD"},
			}, uefiTree(tKernel)),
			date: tRootfs, et: uefiET,
		},
		{
			name: "both",
			g:    gatheredWith(bios(), uefi()),
			tree: union(biosTree(stableBIOS, tRootfs), uefiTree(stableBIOS)),
			date: tRootfs, et: bothET,
		},
		{
			name: "SOURCE_DATE_EPOCH dates what liveiso makes; input files keep their mtimes",
			g:    gatheredWith(bios(), uefi()),
			o:    planOptions{SourceDateEpoch: &sde},
			tree: union(biosTree(tSDE, tSDE), uefiTree(tSDE)),
			date: tSDE, et: bothET,
		},
		{
			name: "a rootfs older than the boot files: the volume is dated by the boot files",
			g: func() gathered {
				g := gatheredWith(bios(), nil)
				g.Initrd.Mtime = tKernel.Add(-time.Hour)
				return g
			}(),
			tree: biosTree(stableBIOS, tKernel.Add(-time.Hour)), date: stableBIOS, et: biosET,
		},
		{
			name: "the user's isolinux.cfg, with its mtime",
			g:    gatheredWith(userCfg, nil),
			tree: union(biosTree(tCfg, tRootfs), map[string]cdEntry{
				"isolinux":              {dirMode, tCfg, ""},
				"isolinux/isolinux.cfg": {roMode, tCfg, "default mine\n"},
			}),
			date: tRootfs, et: biosET,
		},
		{
			name: "extra files: kept as they are, and their newest mtime dates the boot files",
			g:    gatheredWith(bios(), nil, extraTree),
			tree: union(biosTree(tExtra, tRootfs), map[string]cdEntry{
				"docs":        {fs.ModeDir | 0o755, tKernel, ""},
				"docs/README": {0o644, tExtra, "hi"},
			}),
			date: tRootfs, et: biosET,
		},
		{
			name:     "no hybrid",
			g:        gatheredWith(bios(), nil),
			o:        planOptions{NoHybrid: true},
			tree:     biosTree(stableBIOS, tRootfs),
			date:     tRootfs,
			et:       biosET,
			noHybrid: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.o.VolumeID = "TEST"
			c.o.Append = "console=ttyS0"
			in, err := plan(c.g, c.o)
			if err != nil {
				t.Fatal(err)
			}
			got := flatten(t, in.Root)
			for _, p := range slices.Sorted(maps.Keys(union(got, c.tree))) {
				g, ok := got[p]
				w, want := c.tree[p]
				switch {
				case !ok:
					t.Errorf("%s: missing", p)
				case !want:
					t.Errorf("%s: not expected (%v)", p, g.mode)
				default:
					if w.data == anyData {
						g.data = anyData
					}
					if g != w {
						t.Errorf("%s:\n got %v %s %q\nwant %v %s %q", p, g.mode, g.mtime, g.data, w.mode, w.mtime, w.data)
					}
				}
			}
			if got := findNode(in.Root, "isolinux/initrd.img"); got == nil || !got.Volatile {
				t.Errorf("the initrd is not volatile")
			}
			if !in.Date.Equal(c.date) {
				t.Errorf("volume date %s, want %s", in.Date, c.date)
			}
			if in.VolumeID != "TEST" || in.ApplicationID != "LIVEISO" {
				t.Errorf("volume ID %q, application ID %q", in.VolumeID, in.ApplicationID)
			}
			if g := in.ElTorito; g == nil || fmt.Sprint(*g) != fmt.Sprint(c.et) {
				t.Errorf("El Torito %+v, want %+v", g, c.et)
			}
			switch {
			case c.noHybrid && in.Hybrid != nil:
				t.Errorf("hybrid %+v with NoHybrid", in.Hybrid)
			case !c.noHybrid && (in.Hybrid == nil || !bytes.Equal(in.Hybrid.MBRCode, c.g.MBRCode) || in.Hybrid.Seed != "liveiso"):
				t.Errorf("hybrid %+v, want MBR code %q and seed liveiso", in.Hybrid, c.g.MBRCode)
			}
			// The planner takes what plan makes.
			if _, err := isolayout.Plan(in); err != nil {
				t.Errorf("isolayout.Plan: %v", err)
			}
		})
	}
}

func findNode(root *isolayout.Node, p string) *isolayout.Node {
	n := root
	for name := range strings.SplitSeq(p, "/") {
		i := slices.IndexFunc(n.Children, func(c *isolayout.Node) bool { return c.Name == name })
		if i < 0 {
			return nil
		}
		n = n.Children[i]
	}
	return n
}

func TestPlanReservedNames(t *testing.T) {
	for _, name := range []string{"isolinux", "boot", ".disk"} {
		for _, mode := range []struct {
			name string
			b    *biosFiles
			u    *file
		}{{"BIOS", bios(), nil}, {"UEFI", nil, uefi()}} {
			extra := &isolayout.Node{Name: name, Mode: fs.ModeDir | 0o755}
			_, err := plan(gatheredWith(mode.b, mode.u, extra), planOptions{VolumeID: "TEST"})
			if err == nil || !strings.Contains(err.Error(), "/extra/"+name) {
				t.Errorf("%s, extra %q: err %v, want the name refused", mode.name, name, err)
			}
		}
	}
	ok := &isolayout.Node{Name: "bootstrap", Mode: fs.ModeDir | 0o755}
	if _, err := plan(gatheredWith(bios(), nil, ok), planOptions{VolumeID: "TEST"}); err != nil {
		t.Errorf("extra %q: %v", ok.Name, err)
	}
}
