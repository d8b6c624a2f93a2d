package generation

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/liveiso/liveiso/uki"
)

// ErrNoUKIStub means no systemd-stub was found for a UKI.
var ErrNoUKIStub = errors.New("systemd-stub not found")

// osReleasePaths are where os-release(5) says a system keeps its
// identification, relative to the rootfs, in the order it says to read them.
var osReleasePaths = []string{"etc/os-release", "usr/lib/os-release"}

// maxOSReleaseBytes bounds what is read of a rootfs's os-release: the
// rootfs is not trusted, and a real one is well under a kilobyte.
const maxOSReleaseBytes = 64 << 10

// ukiFiles are what a generation's UKI is made of besides the kernel and the
// initrd.
type ukiFiles struct {
	Stub      []byte // systemd-stub's PE image
	OSRelease []byte // .osrel
}

// findUKIStub sets b.ukiStub: the stub the options name, else the first of
// HostSearch.UKIStubs (systemd-stub, the EFI program a UKI is made of).
// Without one there is no UKI, said once here; that is an
// error only when a UKI is asked for or the stub named.
func (b *Builder) findUKIStub() error {
	if p := b.opts.UKIStub; p != "" {
		if !isFile(p) {
			return fmt.Errorf("UKI stub %s: not a regular file", p)
		}
		b.ukiStub = p
		return nil
	}
	for _, p := range b.search.UKIStubs {
		if isFile(p) {
			b.ukiStub = p
			return nil
		}
	}
	err := fmt.Errorf("%w: looked for %s; install systemd-boot-efi (Debian, Ubuntu) or pass --uki-stub FILE",
		ErrNoUKIStub, strings.Join(b.search.UKIStubs, ", "))
	if b.opts.UKI {
		return err
	}
	b.log.Info("no unified kernel image (uki.efi)", "err", err)
	return nil
}

// ukiFiles reads the stub (it is parsed and its headers patched for every
// UKI, and it is small) and the rootfs's os-release.
func (b *Builder) ukiFiles() (*ukiFiles, error) {
	f, _, err := openHost(b.ukiStub)
	if err != nil {
		return nil, fmt.Errorf("UKI stub: %w", err)
	}
	defer f.Close()
	stub, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("UKI stub %s: %w", b.ukiStub, err)
	}
	return &ukiFiles{Stub: stub, OSRelease: b.osRelease()}, nil
}

// osRelease is the rootfs's os-release, read without following a symlink
// (Debian's /etc/os-release is one, to ../usr/lib/os-release, which is then
// read directly), or one naming liveiso when the rootfs has none.
func (b *Builder) osRelease() []byte {
	for _, rel := range osReleasePaths {
		f, _, err := openBeneath(b.opts.Rootfs, rel)
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(f, maxOSReleaseBytes+1))
		f.Close()
		if err == nil && len(data) <= maxOSReleaseBytes {
			return data
		}
	}
	return []byte("NAME=liveiso\nID=liveiso\nPRETTY_NAME=\"liveiso " + b.opts.VolumeID + "\"\n")
}

// planUKI lays out the generation's UKI over the same kernel and initrd
// sources as the image: nothing is copied.
func planUKI(g gathered, appendLine string) (*uki.Layout, error) {
	l, err := uki.Plan(uki.Input{
		Stub:      g.UKI.Stub,
		OSRelease: g.UKI.OSRelease,
		Cmdline:   strings.Join(strings.Fields(appendLine), " "),
		Linux:     uki.Part{Source: g.Kernel.Source, SizeBytes: g.Kernel.Size},
		Initrd:    uki.Part{Source: g.Initrd.Source, SizeBytes: g.Initrd.Size},
	})
	if err != nil {
		return nil, fmt.Errorf("plan the UKI: %w", err)
	}
	return l, nil
}
