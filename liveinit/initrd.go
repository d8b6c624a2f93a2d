package liveinit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/liveiso/liveiso/cache"
	"github.com/liveiso/liveiso/guestinit"
	"github.com/liveiso/liveiso/newc"
)

// Options say what goes into the small initrd.
type Options struct {
	Rootfs  string // for the modules: Rootfs/lib/modules/Release
	Release string // the kernel's release (uname -r)
	Binary  string // the init program: a static liveiso binary; "" means this process's own (/proc/self/exe)
	Config  guestinit.Config
	// Mtime dates the initrd's entries (the binary's mtime when zero).
	Mtime time.Time
}

// moduleDir is where the modules go in the initrd.
const moduleDir = "lib/modules"

// Build makes the small initrd: one gzip member (the kernel always has
// gzip) of newc entries and the trailer.
func Build(o Options) (*cache.Initrd, error) {
	mods, err := Resolve(o.Rootfs, o.Release)
	if err != nil {
		return nil, err
	}
	bin := o.Binary
	if bin == "" {
		bin = "/proc/self/exe"
	}
	binData, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("liveiso's init: %w", err)
	}
	if err := checkStatic(bin, binData); err != nil {
		return nil, err
	}
	mtime := o.Mtime
	if mtime.IsZero() {
		if fi, err := os.Stat(bin); err == nil {
			mtime = fi.ModTime()
		}
	}
	cfg := o.Config
	cfg.Modules = nil
	type file struct {
		name string
		data []byte
		mode uint32
	}
	files := []file{{"init", binData, 0o755}}
	for _, m := range mods {
		data, err := os.ReadFile(m.Path)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", m.Name, err)
		}
		name := moduleDir + "/" + m.Name + ".ko"
		files = append(files, file{name, data, 0o644})
		cfg.Modules = append(cfg.Modules, "/"+name)
	}
	conf, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return nil, err
	}
	files = append(files, file{guestinit.ConfigPath[1:], append(conf, '\n'), 0o644})

	var raw bytes.Buffer
	w := newc.NewWriter(&raw)
	ino := uint32(1)
	hdr := func(h newc.Header) error {
		h.Ino, h.Mtime = ino, mtime.Unix()
		if h.Nlink == 0 {
			h.Nlink = 1
		}
		ino++
		return w.WriteHeader(&h)
	}
	for _, d := range []string{"dev", "proc", "sys", "run", "root", "lib", moduleDir, path.Dir(guestinit.ConfigPath[1:])} {
		if err := hdr(newc.Header{Name: d, Mode: newc.TypeDir | 0o755, Nlink: 2}); err != nil {
			return nil, err
		}
	}
	// The kernel opens /dev/console for init before init runs.
	if err := hdr(newc.Header{Name: "dev/console", Mode: newc.TypeChar | 0o600, RdevMajor: 5, RdevMinor: 1}); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := hdr(newc.Header{Name: f.name, Mode: newc.TypeReg | f.mode, Size: int64(len(f.data))}); err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return cache.Assemble([]cache.Member{{Compression: cache.Gzip, SizeBytes: int64(gz.Len()), Data: bytes.NewReader(gz.Bytes())}})
}
