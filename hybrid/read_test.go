package hybrid

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"unicode/utf16"
)

// This file is a small MBR and GPT reader for the tests, with offsets
// taken from UEFI 2.10 5.2.1 and 5.3 again rather than from mbr.go and
// gpt.go.

// readMBR decodes a legacy MBR sector.
func readMBR(b []byte) (MBR, [4][2]uint32, error) {
	var m MBR
	var chs [4][2]uint32 // first and last LBA as the CHS fields say, ^0 for "beyond CHS"
	if len(b) != 512 || b[510] != 0x55 || b[511] != 0xAA {
		return m, chs, errors.New("no MBR signature")
	}
	m.BootCode = b[:440]
	m.DiskSignature = binary.LittleEndian.Uint32(b[440:])
	for i := range 4 {
		r := b[446+16*i:][:16]
		if r[0] != 0 && r[0] != 0x80 {
			return m, chs, errors.New("bad BootIndicator")
		}
		m.Partitions[i] = MBRPartition{Active: r[0] == 0x80, Type: r[4],
			StartLBA: binary.LittleEndian.Uint32(r[8:]), Sectors: binary.LittleEndian.Uint32(r[12:])}
		chs[i] = [2]uint32{chsToLBA(r[1:4]), chsToLBA(r[5:8])}
	}
	return m, chs, nil
}

// chsToLBA decodes a packed CHS address with 64 heads and 32 sectors.
func chsToLBA(b []byte) uint32 {
	if b[0] == 0xFE && b[1] == 0xFF && b[2] == 0xFF {
		return ^uint32(0)
	}
	h, s, c := uint32(b[0]), uint32(b[1]&0x3F), uint32(b[1]>>6)<<8|uint32(b[2])
	return (c*64+h)*32 + s - 1
}

// gptHeader is a decoded GPT header (UEFI 2.10 Table 5-5).
type gptHeader struct {
	MyLBA, AlternateLBA, FirstUsable, LastUsable, EntryLBA uint64
	DiskGUID                                               GUID
	Entries, EntrySize, EntryArrayCRC                      uint32
}

func readGPTHeader(b []byte) (gptHeader, error) {
	var h gptHeader
	le := binary.LittleEndian
	if string(b[:8]) != "EFI PART" || le.Uint32(b[8:]) != 0x00010000 || le.Uint32(b[12:]) != 92 {
		return h, errors.New("not a GPT header")
	}
	chk := append([]byte(nil), b[:92]...)
	clear(chk[16:20])
	if crc32.ChecksumIEEE(chk) != le.Uint32(b[16:]) || le.Uint32(b[20:]) != 0 {
		return h, errors.New("header CRC32 or reserved field")
	}
	for _, c := range b[92:512] {
		if c != 0 {
			return h, errors.New("nonzero bytes after the header")
		}
	}
	h.MyLBA, h.AlternateLBA = le.Uint64(b[24:]), le.Uint64(b[32:])
	h.FirstUsable, h.LastUsable = le.Uint64(b[40:]), le.Uint64(b[48:])
	copy(h.DiskGUID[:], b[56:72])
	h.EntryLBA = le.Uint64(b[72:])
	h.Entries, h.EntrySize, h.EntryArrayCRC = le.Uint32(b[80:]), le.Uint32(b[84:]), le.Uint32(b[88:])
	return h, nil
}

// readGPTEntries decodes the non-empty entries of an entry array.
func readGPTEntries(b []byte, h gptHeader) ([]GPTPartition, error) {
	if h.Entries != 128 || h.EntrySize != 128 || len(b) != 128*128 {
		return nil, errors.New("entry array size")
	}
	if crc32.ChecksumIEEE(b) != h.EntryArrayCRC {
		return nil, errors.New("entry array CRC32")
	}
	var out []GPTPartition
	for i := 0; i < len(b); i += 128 {
		e := b[i : i+128]
		var p GPTPartition
		copy(p.Type[:], e[0:16])
		if p.Type == (GUID{}) {
			continue // an unused entry
		}
		copy(p.ID[:], e[16:32])
		p.FirstLBA, p.LastLBA = binary.LittleEndian.Uint64(e[32:]), binary.LittleEndian.Uint64(e[40:])
		p.Attributes = binary.LittleEndian.Uint64(e[48:])
		var name []uint16
		for j := 56; j < 128; j += 2 {
			c := binary.LittleEndian.Uint16(e[j:])
			if c == 0 {
				break
			}
			name = append(name, c)
		}
		p.Name = string(utf16.Decode(name))
		out = append(out, p)
	}
	return out, nil
}
