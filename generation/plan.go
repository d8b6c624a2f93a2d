package generation

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/liveiso/liveiso/efiboot"
	"github.com/liveiso/liveiso/isolayout"
)

// Where the boot files go on the CD. isolinux looks for its configuration in
// its own directory first, and the generated isolinux.cfg names the kernel
// and initrd relative to it.
const (
	bootDir     = "isolinux"
	loaderName  = "isolinux.bin"
	ldlinuxName = "ldlinux.c32"
	cfgName     = "isolinux.cfg"
	kernelName  = "vmlinuz"
	initrdName  = "initrd.img"
	catalogName = "boot.cat"
)

// isolinuxLoadSectors is the El Torito load size for isolinux.bin: 4 virtual
// 512-byte sectors, as isolinux documents (-boot-load-size 4); isolinux
// loads the rest of itself.
const isolinuxLoadSectors = 4

// reservedNames are the CD's top-level names the boot files use, with or
// without the boot mode that needs them; extra files may not take them.
func reservedNames() []string {
	return append([]string{bootDir}, efiboot.CDRootNames()...)
}

// file is an input file: open, with the size and mtime it had when opened.
type file struct {
	Source io.ReaderAt
	Size   int64
	Mtime  time.Time
}

// gathered is what Build read for one generation. plan turns it into the
// layout's input without further I/O.
type gathered struct {
	Kernel file
	Initrd file // Mtime: the newest mtime in the rootfs

	BIOS *biosFiles // nil: no BIOS entry
	UEFI *file      // the GRUB EFI image; nil: no UEFI entry
	Shim *shimFiles // with UEFI: boot through shim (Secure Boot); nil: GRUB directly
	UKI  *ukiFiles  // what the UKI needs besides the kernel and initrd; nil: no UKI

	MBRCode  []byte            // isohdpfx.bin; nil: no MBR boot code
	Extra    []*isolayout.Node // the CD's root from --extra
	ExtraDir string            // where Extra came from, for messages

	Warnings []string // about the boot files: a kernel shim will refuse

	// Opened are the files gather opened for the sources above; the
	// generation made of them closes them (lifetime.go).
	Opened []io.Closer
}

// shimFiles are the first stage of a Secure Boot chain.
type shimFiles struct {
	Shim, MokManager file
}

// biosFiles are isolinux's files.
type biosFiles struct {
	Loader      []byte // isolinux.bin, patched by the planner (boot-info-table)
	LoaderMtime time.Time
	Ldlinux     file
	Config      *file // the user's isolinux.cfg; nil generates one
}

// planOptions are the options that shape the CD tree.
type planOptions struct {
	VolumeID        string
	Append          string
	NoHybrid        bool
	NoJoliet        bool
	JolietLong      bool
	SourceDateEpoch *time.Time
}

// plan makes the layout's input: the CD tree, the El Torito entries and
// the hybrid system area.
func plan(g gathered, o planOptions) (isolayout.Input, error) {
	for _, e := range g.Extra {
		if slices.Contains(reservedNames(), e.Name) {
			return isolayout.Input{}, fmt.Errorf("extra files: %s/%s: the name %q is taken by the boot files", g.ExtraDir, e.Name, e.Name)
		}
	}

	// Dates: whatever does not change when the rootfs does is dated by the
	// inputs it comes from, so that an edit of the rootfs moves only the
	// initrd's record and the volume descriptor (layout stability).
	stable := newest(bootMtime(g), g.Extra)
	rootfsDate := g.Initrd.Mtime
	if sde := o.SourceDateEpoch; sde != nil {
		stable, rootfsDate = *sde, *sde
	}
	volumeDate := stable
	if rootfsDate.After(volumeDate) {
		volumeDate = rootfsDate
	}

	t := cdTree{date: stable}
	boot := t.dir(bootDir, t.file(kernelName, g.Kernel))
	et := &isolayout.ElTorito{CatalogPath: bootDir + "/" + catalogName}
	if b := g.BIOS; b != nil {
		text := []byte(isolinuxCfg(o.Append))
		cfg := file{Source: bytes.NewReader(text), Size: int64(len(text))} // no Mtime: dated like the directories
		if b.Config != nil {
			cfg = *b.Config
		}
		boot.Children = append(boot.Children,
			t.file(loaderName, file{Source: bytes.NewReader(b.Loader), Size: int64(len(b.Loader)), Mtime: b.LoaderMtime}),
			t.file(ldlinuxName, b.Ldlinux),
			t.file(cfgName, cfg),
		)
		et.LoaderPath = bootDir + "/" + loaderName
		et.Loader = b.Loader
		et.LoadSectors = isolinuxLoadSectors
		et.BootInfoTable = true
	}
	initrd := t.file(initrdName, g.Initrd)
	initrd.Mtime, initrd.Volatile = rootfsDate, true
	boot.Children = append(boot.Children, initrd)

	root := t.dir("", boot)
	if g.UEFI != nil {
		// GRUB reads the kernel and initrd from the ISO 9660 tree, so they
		// are stored once, and nothing here changes when the rootfs does.
		in := efiboot.CDInput{
			Loader: g.UEFI.Source, LoaderSize: g.UEFI.Size, LoaderMtime: g.UEFI.Mtime,
			VolumeID: o.VolumeID,
			Kernel:   "/" + bootDir + "/" + kernelName,
			Initrd:   "/" + bootDir + "/" + initrdName,
			Append:   o.Append,
		}
		if s := g.Shim; s != nil {
			in.Shim, in.ShimSize = s.Shim.Source, s.Shim.Size
			in.MokManager, in.MokManagerSize = s.MokManager.Source, s.MokManager.Size
			// The ESP is dated by the newest of the files it holds.
			for _, t := range []time.Time{s.Shim.Mtime, s.MokManager.Mtime} {
				if t.After(in.LoaderMtime) {
					in.LoaderMtime = t
				}
			}
		}
		cd, err := efiboot.CDFiles(in)
		if err != nil {
			return isolayout.Input{}, err
		}
		for _, f := range cd.Files {
			t.place(root, f.Path, file{Source: f.Source, Size: f.Size, Mtime: f.Mtime})
		}
		et.EFIImagePath = cd.ESPPath
	}
	root.Children = append(root.Children, g.Extra...)

	var hybrid *isolayout.Hybrid
	if !o.NoHybrid {
		hybrid = &isolayout.Hybrid{MBRCode: g.MBRCode, Seed: "liveiso"}
	}
	var joliet *isolayout.Joliet
	if !o.NoJoliet {
		joliet = &isolayout.Joliet{Long: o.JolietLong}
	}
	return isolayout.Input{
		VolumeID:      o.VolumeID,
		ApplicationID: "LIVEISO",
		Date:          volumeDate,
		Root:          root,
		ElTorito:      et,
		Hybrid:        hybrid,
		Joliet:        joliet,
	}, nil
}

// cdTree makes the nodes of the files liveiso puts on the CD: read-only,
// and dated date unless their input has a date of its own.
type cdTree struct{ date time.Time }

func (t cdTree) file(name string, f file) *isolayout.Node {
	mtime := f.Mtime
	if mtime.IsZero() {
		mtime = t.date
	}
	return &isolayout.Node{Name: name, Mode: 0o444, Mtime: mtime, Size: f.Size, Source: f.Source}
}

func (t cdTree) dir(name string, children ...*isolayout.Node) *isolayout.Node {
	return &isolayout.Node{Name: name, Mode: fs.ModeDir | 0o555, Mtime: t.date, Children: children}
}

// place puts f at the slash-separated path p below root, making the
// directories on the way.
func (t cdTree) place(root *isolayout.Node, p string, f file) {
	parent := root
	names := strings.Split(p, "/")
	for _, name := range names[:len(names)-1] {
		i := slices.IndexFunc(parent.Children, func(n *isolayout.Node) bool { return n.Name == name })
		if i < 0 {
			parent.Children = append(parent.Children, t.dir(name))
			i = len(parent.Children) - 1
		}
		parent = parent.Children[i]
	}
	parent.Children = append(parent.Children, t.file(names[len(names)-1], f))
}

// bootMtime is the newest mtime of the files the boot directory is made
// from. The UEFI loader dates only the ESP.
func bootMtime(g gathered) time.Time {
	t := g.Kernel.Mtime
	if b := g.BIOS; b != nil {
		ts := []time.Time{b.LoaderMtime, b.Ldlinux.Mtime}
		if b.Config != nil {
			ts = append(ts, b.Config.Mtime)
		}
		for _, u := range ts {
			if u.After(t) {
				t = u
			}
		}
	}
	return t
}

// newest is the newest of t and the mtimes in the trees.
func newest(t time.Time, trees []*isolayout.Node) time.Time {
	for _, n := range trees {
		if n.Mtime.After(t) {
			t = n.Mtime
		}
		t = newest(t, n.Children)
	}
	return t
}

// isolinuxCfg is the configuration of the classic recipe: boot the kernel
// with the initrd at once, with the user's command line.
func isolinuxCfg(appendLine string) string {
	var sb strings.Builder
	sb.WriteString("default linux\n")
	sb.WriteString("label linux\n")
	sb.WriteString("  kernel " + kernelName + "\n")
	sb.WriteString("  append initrd=" + initrdName)
	if a := strings.TrimSpace(appendLine); a != "" {
		sb.WriteString(" " + a)
	}
	sb.WriteString("\n")
	return sb.String()
}
