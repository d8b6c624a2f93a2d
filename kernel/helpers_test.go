package kernel

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// Synthetic bzImages: the boot sector and one setup sector, the version
// string inside the setup sector, the payload 16 bytes into the
// protected-mode code, as a real bzImage is laid out (boot.rst).
const (
	synthSetupSects    = 1
	synthVersionOffset = 0x300 // kernel_version 0x100
	synthPayloadOffset = 0x10
)

type synthKernel struct {
	version  string // "" for a kernel_version of 0
	protocol uint16 // 0 means 2.15
	payload  []byte
}

func (k synthKernel) bytes(t testing.TB) []byte {
	t.Helper()
	pm := int64(synthSetupSects+1) * sectorBytes
	img := make([]byte, pm+synthPayloadOffset+int64(len(k.payload)))
	h := SetupHeader{
		SetupSects:    synthSetupSects,
		BootFlag:      bootFlagMagic,
		Header:        [4]byte([]byte(hdrSMagic)),
		Version:       k.protocol,
		PayloadOffset: synthPayloadOffset,
		PayloadLength: uint32(len(k.payload)),
	}
	if h.Version == 0 {
		h.Version = 0x020f
	}
	if k.version != "" {
		h.KernelVersion = synthVersionOffset - realModeBase
		copy(img[synthVersionOffset:], k.version+"\x00")
	}
	if _, err := binary.Encode(img[setupHeaderOffset:], binary.LittleEndian, h); err != nil {
		t.Fatal(err)
	}
	copy(img[pm+synthPayloadOffset:], k.payload)
	return img
}

// vmlinux is a stand-in for an uncompressed kernel that embeds config the
// way kernel/configs.c does, between code-like filler.
func vmlinux(t testing.TB, config string) []byte {
	t.Helper()
	var b bytes.Buffer
	b.Write(bytes.Repeat([]byte{0x90, 0x48, 0x89, 0xe5}, 300_000)) // more than one scan chunk
	b.WriteString("IKCFG_ST")                                      // the marker alone, as code that refers to it holds it
	b.WriteString("IKCFG_ST")
	b.Write(gzipped(t, config))
	b.WriteString("IKCFG_ED")
	b.Write(bytes.Repeat([]byte{0xcc}, 5000))
	return b.Bytes()
}

func gzipped(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withSize appends the uncompressed size, as the kernel's build does after
// a compressed vmlinux (size_append).
func withSize(compressed []byte, n int) []byte {
	return binary.LittleEndian.AppendUint32(compressed, uint32(n))
}

func zstded(t testing.TB, data []byte) []byte {
	t.Helper()
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(data, nil)
}

const debianVersion = "6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)"

const sampleConfig = `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_RD_ZSTD=y
# CONFIG_RD_LZ4 is not set
`
