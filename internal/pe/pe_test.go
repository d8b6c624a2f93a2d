package pe

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// Real images (scripts/setup.sh installs shim-signed and fetches the
// Debian kernel): EFI programs of PE32+ with and without a signature.
const (
	shimSigned = "/usr/lib/shim/shimx64.efi.signed"
	mokManager = "/usr/lib/shim/mmx64.efi"
)

func readImage(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run make setup)", err)
	}
	return b
}

// sameAsDebugPE checks f against what the standard library's debug/pe
// reads of data, when it reads it.
func sameAsDebugPE(t *testing.T, f *File, data []byte) {
	t.Helper()
	std, err := pe.NewFile(bytes.NewReader(data))
	if err != nil {
		return // debug/pe is stricter in places (the string table, symbols)
	}
	if std.Machine != f.Machine || int(std.NumberOfSections) != len(f.Sections) {
		t.Fatalf("machine %#x, %d sections; debug/pe: %#x, %d", f.Machine, len(f.Sections), std.Machine, std.NumberOfSections)
	}
	for i, s := range std.Sections {
		got := f.Sections[i]
		if s.VirtualSize != got.VirtualSize || s.VirtualAddress != got.VirtualAddress || s.Size != got.SizeOfRawData ||
			s.Offset != got.PointerToRawData || s.Characteristics != got.Characteristics {
			t.Fatalf("section %d: %+v; debug/pe: %+v", i, got, s.SectionHeader)
		}
	}
	var soh uint32
	switch h := std.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		soh = h.SizeOfHeaders
	case *pe.OptionalHeader64:
		soh = h.SizeOfHeaders
	}
	if soh != f.SizeOfHeaders {
		t.Fatalf("SizeOfHeaders %d; debug/pe: %d", f.SizeOfHeaders, soh)
	}
}

func TestParseRealImages(t *testing.T) {
	for _, c := range []struct {
		path   string
		signed bool
	}{{shimSigned, true}, {mokManager, false}} {
		t.Run(c.path, func(t *testing.T) {
			data := readImage(t, c.path)
			f, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if f.Machine != MachineAMD64 || f.Magic != MagicPE32Plus || len(f.Sections) == 0 {
				t.Errorf("machine %#x magic %#x, %d sections: want an x86-64 PE32+ image", f.Machine, f.Magic, len(f.Sections))
			}
			if signed := f.CertTable[0] != 0; signed != c.signed {
				t.Errorf("certificate table %v, signed %v, want %v", f.CertTable, signed, c.signed)
			}
			if c.signed && int(f.CertTable[0])+int(f.CertTable[1]) != len(data) {
				t.Errorf("certificate table %v does not end the file of %d bytes", f.CertTable, len(data))
			}
			sameAsDebugPE(t, f, data)
		})
	}
}

// A section header written by AppendTo reads back as it was.
func TestSectionRoundTrip(t *testing.T) {
	s := Section{Name: ".initrd", VirtualSize: 1, VirtualAddress: 0x1000, SizeOfRawData: 0x200, PointerToRawData: 0x400,
		Characteristics: ScnCntInitializedData | ScnMemRead}
	b := s.AppendTo(nil)
	if len(b) != SectionHeaderSize {
		t.Fatalf("%d bytes, want %d", len(b), SectionHeaderSize)
	}
	if got := decodeSection(b); got != s {
		t.Errorf("read back %+v, want %+v", got, s)
	}
}

func TestParseRefuses(t *testing.T) {
	good := readImage(t, mokManager)
	sig := int(binary.LittleEndian.Uint32(good[DOSLfanewOffset:]))
	opt := sig + 4 + COFFHeaderSize
	for _, c := range []struct {
		name string
		edit func([]byte) []byte
	}{
		{"not MZ", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"truncated before the PE header", func(b []byte) []byte { return b[:0x50] }},
		{"signature past the end", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[DOSLfanewOffset:], uint32(len(b)-10))
			return b
		}},
		{"unknown magic", func(b []byte) []byte { binary.LittleEndian.PutUint16(b[opt:], 0x107); return b }},
		{"optional header too short", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[sig+4+16:], OptDataDirectoriesPE32Plus-1)
			return b
		}},
		{"headers past the end", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[opt+OptSizeOfHeaders:], uint32(len(b)+1))
			return b
		}},
		{"section table past the headers", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[sig+4+2:], 1000)
			return b
		}},
		{"section past the end", func(b []byte) []byte {
			e := opt + int(binary.LittleEndian.Uint16(b[sig+4+16:]))
			binary.LittleEndian.PutUint32(b[e+16:], uint32(len(b)))
			return b
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Parse(c.edit(bytes.Clone(good))); !errors.Is(err, ErrFormat) {
				t.Errorf("Parse: %v, want ErrFormat", err)
			}
		})
	}
}

// FuzzParse: arbitrary bytes never panic the reader; every header it
// accepts lies inside the file, and it agrees with debug/pe where both
// read the image.
func FuzzParse(f *testing.F) {
	for _, p := range []string{mokManager, shimSigned} {
		b := readImage(f, p)
		f.Add(b[:min(len(b), 0x1000)])
	}
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		if int(p.SizeOfHeaders) > len(data) || p.SectionTableOffset+len(p.Sections)*SectionHeaderSize > int(p.SizeOfHeaders) {
			t.Fatalf("accepted headers of %d bytes, section table to %d, in %d bytes", p.SizeOfHeaders,
				p.SectionTableOffset+len(p.Sections)*SectionHeaderSize, len(data))
		}
		if p.CertDirOffset != 0 && p.CertDirOffset+DataDirectorySize > p.SectionTableOffset {
			t.Fatalf("certificate directory at %d past the optional header", p.CertDirOffset)
		}
		for _, s := range p.Sections {
			if s.SizeOfRawData > 0 && int64(s.PointerToRawData)+int64(s.SizeOfRawData) > int64(len(data)) {
				t.Fatalf("accepted section %+v past the end of %d bytes", s, len(data))
			}
		}
		sameAsDebugPE(t, p, data)
	})
}
