package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/squashroot"
)

// registerRoot defines --root and --init.
func (f *imageFlags) registerRoot(fs *pflag.FlagSet) {
	fs.StringVar(&f.root, "root", string(generation.RootInitramfs), "where the rootfs goes: initramfs (the initrd, all in RAM) or squashfs (/live/filesystem.squashfs on the medium, mounted by liveiso's own init under an overlay on tmpfs)")
	fs.StringVar(&f.init, "init", "", "with --root squashfs, the rootfs's init to hand over to (default "+generation.DefaultInit+")")
}

func (f *imageFlags) rootOption() (generation.Root, error) {
	switch r := generation.Root(f.root); r {
	case generation.RootInitramfs, generation.RootSquashfs:
		if f.init != "" && r != generation.RootSquashfs {
			return "", usageError{"--init needs --root squashfs"}
		}
		return r, nil
	}
	return "", usageError{fmt.Sprintf("--root %q: want initramfs or squashfs", f.root)}
}

// squashfsSummary describes a generation's squashfs for a person.
func squashfsSummary(im *squashroot.Image) string {
	st := im.Stats()
	return fmt.Sprintf("/live/filesystem.squashfs %s (%d files, %d compressed now, %s)",
		humanBytes(im.Size()), st.Files, st.FilesCompressed, im.Compression())
}
