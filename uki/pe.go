package uki

import (
	"errors"
	"fmt"

	"github.com/liveiso/liveiso/internal/pe"
)

// ErrNotStub means the file is not a PE32+ x86-64 image that sections can
// be added to.
var ErrNotStub = errors.New("uki: not a PE32+ x86-64 EFI image")

// stub is the stub's bytes and headers.
type stub struct {
	data []byte
	*pe.File
}

// parseStub reads the headers of a PE32+ x86-64 image (internal/pe) and
// checks what adding sections relies on.
func parseStub(data []byte) (*stub, error) {
	f, err := pe.Parse(data)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrNotStub, err)
	case f.Machine != pe.MachineAMD64:
		return nil, fmt.Errorf("%w: machine %#x", ErrNotStub, f.Machine)
	case f.Magic != pe.MagicPE32Plus:
		return nil, fmt.Errorf("%w: optional header magic %#x", ErrNotStub, f.Magic)
	case !powerOfTwo(f.SectionAlignment) || !powerOfTwo(f.FileAlignment) || f.FileAlignment > f.SectionAlignment:
		return nil, fmt.Errorf("%w: section alignment %#x, file alignment %#x", ErrNotStub, f.SectionAlignment, f.FileAlignment)
	}
	return &stub{data: data, File: f}, nil
}

func powerOfTwo(x uint32) bool { return x != 0 && x&(x-1) == 0 }

func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }
