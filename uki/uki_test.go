package uki

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	pecoff "github.com/liveiso/liveiso/internal/pe"
)

// debianStub is systemd-stub as Debian's systemd-boot-efi installs it.
const debianStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

func readStub(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(debianStub)
	if err != nil {
		t.Fatalf("%v (package systemd-boot-efi; scripts/setup.sh installs it)", err)
	}
	return b
}

func planned(t *testing.T, in Input) (*Layout, []byte) {
	t.Helper()
	l, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, l.Size())
	if _, err := l.ReadAt(b, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return l, b
}

func testInput(stub []byte) Input {
	kernel := bytes.Repeat([]byte("kernel!"), 100000) // 700,000 bytes
	initrd := bytes.Repeat([]byte{0x1f, 0x8b, 8, 0}, 33333)
	return Input{
		Stub:      stub,
		OSRelease: []byte("NAME=\"liveiso test\"\nID=liveiso\n"),
		Cmdline:   "console=ttyS0 quiet",
		Linux:     Part{Source: bytes.NewReader(kernel), SizeBytes: int64(len(kernel))},
		Initrd:    Part{Source: bytes.NewReader(initrd), SizeBytes: int64(len(initrd))},
	}
}

// debug/pe, an independent reader, finds the four sections with their
// contents, the stub's own sections unchanged, and the header sums right.
func TestPlanReadsBackWithDebugPE(t *testing.T) {
	stub := readStub(t)
	in := testInput(stub)
	l, img := planned(t, in)
	f, err := pe.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	orig, err := pe.NewFile(bytes.NewReader(stub))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(f.Sections), len(orig.Sections)+4; got != want {
		t.Fatalf("%d sections, want %d", got, want)
	}
	for i, s := range orig.Sections {
		g := f.Sections[i]
		if g.SectionHeader != s.SectionHeader {
			t.Errorf("stub section %s changed: %+v, was %+v", s.Name, g.SectionHeader, s.SectionHeader)
		}
	}
	kernel, _ := io.ReadAll(io.NewSectionReader(in.Linux.Source, 0, in.Linux.SizeBytes))
	initrd, _ := io.ReadAll(io.NewSectionReader(in.Initrd.Source, 0, in.Initrd.SizeBytes))
	want := map[string][]byte{".osrel": in.OSRelease, ".cmdline": []byte(in.Cmdline), ".linux": kernel, ".initrd": initrd}
	opt := f.OptionalHeader.(*pe.OptionalHeader64)
	var prevEnd uint32
	for i, name := range []string{".osrel", ".cmdline", ".linux", ".initrd"} {
		s := f.Sections[len(orig.Sections)+i]
		if s.Name != name {
			t.Fatalf("section %d is %q, want %q", len(orig.Sections)+i, s.Name, name)
		}
		data, err := s.Data()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data[:s.VirtualSize], want[name]) || s.VirtualSize != uint32(len(want[name])) {
			t.Errorf("%s: %d bytes, not the input's %d", name, s.VirtualSize, len(want[name]))
		}
		if !allZero(data[s.VirtualSize:]) {
			t.Errorf("%s: the file alignment padding is not zeros", name)
		}
		if s.VirtualAddress%pageSize != 0 || s.VirtualAddress < prevEnd {
			t.Errorf("%s at RVA %#x: not page aligned after the previous section's end %#x", name, s.VirtualAddress, prevEnd)
		}
		if s.Offset%opt.FileAlignment != 0 || s.Size%opt.FileAlignment != 0 {
			t.Errorf("%s: file offset %#x size %#x not multiples of FileAlignment %#x", name, s.Offset, s.Size, opt.FileAlignment)
		}
		if got := l.Sections[i]; got.Offset != int64(s.Offset) || got.VirtualAddress != s.VirtualAddress || got.Name != name {
			t.Errorf("Layout.Sections[%d] = %+v, the file says offset %#x RVA %#x", i, got, s.Offset, s.VirtualAddress)
		}
		prevEnd = s.VirtualAddress + s.VirtualSize
	}
	if want := alignUp(uint64(prevEnd), max(pageSize, uint64(opt.SectionAlignment))); uint64(opt.SizeOfImage) != want || opt.SizeOfImage%opt.SectionAlignment != 0 {
		t.Errorf("SizeOfImage %#x, want %#x", opt.SizeOfImage, want)
	}
	last := f.Sections[len(f.Sections)-1]
	if int64(last.Offset+last.Size) != l.Size() {
		t.Errorf("file of %d bytes, the last section ends at %d", l.Size(), last.Offset+last.Size)
	}
	if f.FileHeader.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
		t.Errorf("machine %#x", f.FileHeader.Machine)
	}
}

// objdump, another independent reader, lists the sections at the offsets
// Plan reports, with the alignment the firmware needs.
func TestPlanObjdump(t *testing.T) {
	l, img := planned(t, testInput(readStub(t)))
	p := t.TempDir() + "/uki.efi"
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("objdump", "-h", p).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump -h: %v\n%s (package binutils)", err, out)
	}
	if !strings.Contains(string(out), "pei-x86-64") {
		t.Fatalf("objdump does not see a pei-x86-64 file:\n%s", out)
	}
	// Idx Name Size VMA LMA File-off Algn
	row := regexp.MustCompile(`(?m)^\s*\d+\s+(\.\w+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)`)
	found := map[string][3]uint64{}
	for _, m := range row.FindAllStringSubmatch(string(out), -1) {
		var v [3]uint64
		for i := range 3 {
			v[i], _ = strconv.ParseUint(m[2+i], 16, 64)
		}
		found[m[1]] = v
	}
	for _, s := range l.Sections {
		v, ok := found[s.Name]
		if !ok {
			t.Errorf("objdump does not list %s:\n%s", s.Name, out)
			continue
		}
		if v[0] != uint64(s.SizeBytes) || v[2] != uint64(s.Offset) || v[1]%pageSize != 0 {
			t.Errorf("%s: objdump size %#x VMA %#x offset %#x; planned size %#x offset %#x, page-aligned VMA", s.Name, v[0], v[1], v[2], s.SizeBytes, s.Offset)
		}
	}
}

// A change of the initrd moves nothing but its own section: every byte
// before it but the size fields in the headers is the same.
func TestInitrdChangeMovesOnlyItsSection(t *testing.T) {
	stub := readStub(t)
	a := testInput(stub)
	b := testInput(stub)
	bigger := bytes.Repeat([]byte{7}, 500000)
	b.Initrd = Part{Source: bytes.NewReader(bigger), SizeBytes: int64(len(bigger))}
	la, ia := planned(t, a)
	lb, ib := planned(t, b)
	for i := range 3 {
		if la.Sections[i] != lb.Sections[i] {
			t.Errorf("%s moved: %+v -> %+v", la.Sections[i].Name, la.Sections[i], lb.Sections[i])
		}
	}
	hdr := len(stub[:binary.LittleEndian.Uint32(stub[0x3c:])]) + 4 + pecoff.COFFHeaderSize + 240 + 40*12
	if !bytes.Equal(ia[hdr:la.Sections[3].Offset], ib[hdr:lb.Sections[3].Offset]) {
		t.Error("bytes between the headers and .initrd differ")
	}
}

func TestPlanRefuses(t *testing.T) {
	stub := readStub(t)
	cases := []struct {
		name string
		edit func([]byte) []byte
		want error
	}{
		{"not MZ", func(b []byte) []byte { b[0] = 'X'; return b }, ErrNotStub},
		{"truncated", func(b []byte) []byte { return b[:0x50] }, ErrNotStub},
		{"i386", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[binary.LittleEndian.Uint32(b[0x3c:])+4:], 0x14c)
			return b
		}, ErrNotStub},
		{"no room", func(b []byte) []byte {
			// Headers that end right after the stub's own section table.
			sig := binary.LittleEndian.Uint32(b[pecoff.DOSLfanewOffset:])
			opt := sig + 4 + pecoff.COFFHeaderSize
			soh := binary.LittleEndian.Uint16(b[sig+4+16:])
			n := binary.LittleEndian.Uint16(b[sig+4+2:])
			binary.LittleEndian.PutUint32(b[opt+pecoff.OptSizeOfHeaders:], opt+uint32(soh)+uint32(n)*pecoff.SectionHeaderSize)
			return b
		}, ErrNoRoom},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := testInput(c.edit(bytes.Clone(stub)))
			if _, err := Plan(in); !errors.Is(err, c.want) {
				t.Fatalf("Plan: %v, want %v", err, c.want)
			}
		})
	}
	again, _ := planned(t, testInput(stub))
	img := make([]byte, again.Size())
	again.ReadAt(img, 0)
	if _, err := Plan(testInput(img)); err == nil || !strings.Contains(err.Error(), "already has a .osrel") {
		t.Fatalf("Plan of a UKI as the stub: %v, want an error about .osrel", err)
	}
}

// FuzzParseStub: any bytes as the stub give an error or a UKI whose added
// sections debug/pe reads back; never a panic.
func FuzzParseStub(f *testing.F) {
	if b, err := os.ReadFile(debianStub); err == nil {
		f.Add(b[:0x400])
		f.Add(b)
	}
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, stub []byte) {
		in := testInput(stub)
		l, err := Plan(in)
		if err != nil {
			return
		}
		img := make([]byte, l.Size())
		if _, err := l.ReadAt(img, 0); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(img[l.Sections[1].Offset:][:len(in.Cmdline)], []byte(in.Cmdline)) {
			t.Fatal(".cmdline not where the layout says")
		}
	})
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
