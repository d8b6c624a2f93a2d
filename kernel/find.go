package kernel

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNoConfig: none of the places FindConfig looks holds the kernel's
// configuration. The error's text says what was looked at.
var ErrNoConfig = errors.New("kernel configuration not found")

// Source says where a configuration was found.
type Source int

const (
	FromFile     Source = iota + 1 // the file the user named (--kernel-config)
	BesideKernel                   // config-VERSION in the kernel file's directory
	InRootfs                       // ROOTFS/boot/config-VERSION
	Embedded                       // in the kernel itself (CONFIG_IKCONFIG)
)

// Search is where FindConfig looks for the configuration of a kernel.
type Search struct {
	ConfigFile string // the user's configuration file; when set, the only place looked
	KernelPath string // the kernel's path, for config-VERSION beside it; "" to skip
	Kernel     io.ReaderAt
	KernelSize int64
	// Rootfs reads the root file system, for boot/config-VERSION; nil to
	// skip. The rootfs is not trusted: generation gives an fs.FS that
	// follows no symlink.
	Rootfs fs.FS
}

// Found is a configuration and where it came from.
type Found struct {
	Config  Config
	Source  Source
	Path    string // the file read; the kernel's path for Embedded
	Release string // the kernel's release ("6.1.0-57-amd64"), "" with FromFile
}

// String says where the configuration was found, for a log line.
func (f Found) String() string {
	switch f.Source {
	case FromFile:
		return "--kernel-config " + f.Path
	case BesideKernel:
		return f.Path + " beside the kernel"
	case InRootfs:
		return "ROOTFS/" + f.Path
	case Embedded:
		if f.Path == "" {
			return "the kernel's embedded configuration"
		}
		return "the configuration embedded in " + f.Path
	}
	return f.Path
}

// FindConfig returns the kernel's configuration from the first of: the
// user's file, config-VERSION beside the kernel, ROOTFS/boot/config-VERSION,
// the configuration embedded in the kernel. VERSION is the release in the
// kernel's version string (a bzImage's setup header, an arm64 Image's
// banner). A kernel of neither kind is ErrUnknownKernel, which wraps
// ErrNotBzImage (unless the user named the file); nothing found is
// ErrNoConfig, with the places looked at in the error's text.
func FindConfig(s Search) (Found, error) {
	if s.ConfigFile != "" {
		// Any file the user names, a pipe too: --kernel-config <(zcat /proc/config.gz).
		f, err := os.Open(s.ConfigFile)
		if err != nil {
			return Found{}, fmt.Errorf("kernel configuration: %w", err)
		}
		defer f.Close()
		data, err := readConfig(f, s.ConfigFile)
		if err != nil {
			return Found{}, fmt.Errorf("kernel configuration: %w", err)
		}
		return Found{Config: ParseConfig(data), Source: FromFile, Path: s.ConfigFile}, nil
	}
	version, err := VersionOf(s.Kernel, s.KernelSize)
	if err != nil {
		return Found{}, err
	}
	release := Release(version)
	if release == "" {
		return Found{}, fmt.Errorf("%w: kernel version %q has no usable release name", ErrNoConfig, version)
	}
	name := "config-" + release
	var looked []string
	if s.KernelPath != "" {
		p := filepath.Join(filepath.Dir(s.KernelPath), name)
		data, err := readRegular(p)
		if err == nil {
			return Found{Config: ParseConfig(data), Source: BesideKernel, Path: p, Release: release}, nil
		}
		looked = append(looked, fmt.Sprintf("%s (%v)", p, errText(err)))
	}
	if s.Rootfs != nil {
		p := "boot/" + name
		data, err := readFS(s.Rootfs, p)
		if err == nil {
			return Found{Config: ParseConfig(data), Source: InRootfs, Path: p, Release: release}, nil
		}
		looked = append(looked, fmt.Sprintf("ROOTFS/%s (%v)", p, errText(err)))
	}
	data, err := EmbeddedConfig(s.Kernel, s.KernelSize)
	if err == nil {
		return Found{Config: ParseConfig(data), Source: Embedded, Path: s.KernelPath, Release: release}, nil
	}
	looked = append(looked, fmt.Sprintf("the kernel itself (%v)", err))
	return Found{Release: release}, fmt.Errorf("%w: looked at %s", ErrNoConfig, joinLooked(looked))
}

// errText is err, shortened to "missing" for the common case.
func errText(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "missing"
	}
	return err.Error()
}

func joinLooked(l []string) string {
	s := ""
	for i, x := range l {
		switch {
		case i == 0:
		case i == len(l)-1:
			s += " and "
		default:
			s += ", "
		}
		s += x
	}
	return s
}

// readConfig reads a configuration file of at most maxConfigBytes.
func readConfig(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes, not a kernel configuration", name, maxConfigBytes)
	}
	return data, nil
}

// readRegular reads a file found rather than named: it must be a regular
// file, opened without blocking, so that a FIFO put beside the kernel
// cannot hang the build.
func readRegular(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return readConfig(f, path)
}

// readFS reads name from fsys, bounded like every configuration.
func readFS(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readConfig(f, name)
}
