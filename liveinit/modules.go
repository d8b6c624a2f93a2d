package liveinit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrMissingModule: a module the init needs is neither in the rootfs's
// modules nor built into the kernel.
var ErrMissingModule = errors.New("kernel module missing")

// Required are the modules the init cannot do without: a loop device over
// the medium, the squashfs, the overlay. Media are the drivers of the
// places the medium may be (CD-ROM, virtio, NVMe, SATA, USB); those the
// rootfs has are all loaded, in this order, as the medium can be on any.
var (
	Required = []string{"loop", "squashfs", "overlay"}
	Media    = []string{"scsi_common", "scsi_mod", "libata", "ata_piix", "ahci", "cdrom", "sr_mod", "sd_mod",
		"virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", // the transport: no virtio disk without it
		"virtio_blk", "virtio_scsi", "nvme", "usb_storage", "uas"}
)

// Module is one module file to load, with the name it has in the initrd.
type Module struct {
	Name string // module name, "_" for "-"
	Path string // the file on the host
}

func normalize(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Resolve returns the modules to load, in load order: with modules.dep in
// rootfs/lib/modules/RELEASE, the closure of Required and Media from it
// (dependencies first; built-in modules, listed in modules.builtin, left
// out); without it, the flat rootfs/lib/modules/NAME.ko files of a test
// tree, in the order of Media then Required. A Required module found
// nowhere is an error naming it and where it was looked for.
func Resolve(rootfs, release string) ([]Module, error) {
	dir := filepath.Join(rootfs, "lib/modules", release)
	dep, err := os.Open(filepath.Join(dir, "modules.dep"))
	if errors.Is(err, os.ErrNotExist) {
		return flat(filepath.Join(rootfs, "lib/modules"), release)
	}
	if err != nil {
		return nil, err
	}
	defer dep.Close()
	paths := map[string]string{}  // name -> path relative to dir
	deps := map[string][]string{} // name -> names
	s := bufio.NewScanner(dep)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		mod, rest, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		name := modName(mod)
		paths[name] = mod
		for _, d := range strings.Fields(rest) {
			deps[name] = append(deps[name], modName(d))
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", dep.Name(), err)
	}
	builtin := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			builtin[modName(l)] = true
		}
	}
	var out []Module
	done := map[string]bool{}
	var add func(name string) error
	add = func(name string) error {
		if done[name] {
			return nil
		}
		done[name] = true
		for _, d := range deps[name] {
			if err := add(d); err != nil {
				return err
			}
		}
		p := paths[name]
		if !strings.HasSuffix(p, ".ko") {
			return fmt.Errorf("%w: %s is %s: compressed modules are not supported yet", ErrMissingModule, name, p)
		}
		out = append(out, Module{Name: name, Path: filepath.Join(dir, p)})
		return nil
	}
	for _, name := range append(append([]string(nil), Media...), Required...) {
		_, have := paths[name]
		switch {
		case have:
			if err := add(name); err != nil {
				return nil, err
			}
		case builtin[name]:
		case isRequired(name):
			return nil, fmt.Errorf("%w: %s (--root squashfs needs it) is in neither %s/modules.dep nor modules.builtin", ErrMissingModule, name, dir)
		}
	}
	return out, nil
}

func flat(dir, release string) ([]Module, error) {
	var out []Module
	for _, name := range append(append([]string(nil), Media...), Required...) {
		p := filepath.Join(dir, name+".ko")
		if _, err := os.Stat(p); err != nil {
			if isRequired(name) {
				return nil, fmt.Errorf("%w: %s (--root squashfs needs it): no %s/%s/modules.dep and no %s", ErrMissingModule, name, dir, release, p)
			}
			continue
		}
		out = append(out, Module{Name: name, Path: p})
	}
	return out, nil
}

func isRequired(name string) bool {
	for _, r := range Required {
		if r == name {
			return true
		}
	}
	return false
}

// modName is the module name of a modules.dep path: kernel/fs/fuse/fuse.ko -> fuse.
func modName(p string) string {
	b := filepath.Base(p)
	if i := strings.Index(b, ".ko"); i >= 0 {
		b = b[:i]
	}
	return normalize(b)
}
