package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
)

// header is the fixed-size header of a store file (little endian).
//
//	off  size
//	  0     8  magic "LVISOMBR"
//	  8     4  version (fileVersion)
//	 12     4  compression (the packer's code, Member.Compression)
//	 16     8  payload length in bytes
//	 24     8  uncompressed newc length in bytes
//	 32    32  member key
//	 64     4  CRC-32C of the payload
//	 68     4  CRC-32C of bytes 0..67
type header struct {
	comp       uint32
	payloadLen uint64
	rawLen     uint64
	key        Key
	payloadCRC uint32
}

const (
	magic       = "LVISOMBR"
	fileVersion = 1
	headerSize  = 72
)

// castagnoli is CRC-32C, which amd64 and arm64 compute in hardware.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a store file that fails its checks.
var errCorrupt = errors.New("corrupt store file")

func (h *header) encode() []byte {
	b := make([]byte, 0, headerSize)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint32(b, fileVersion)
	b = binary.LittleEndian.AppendUint32(b, h.comp)
	b = binary.LittleEndian.AppendUint64(b, h.payloadLen)
	b = binary.LittleEndian.AppendUint64(b, h.rawLen)
	b = append(b, h.key[:]...)
	b = binary.LittleEndian.AppendUint32(b, h.payloadCRC)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeHeader(b []byte) (header, error) {
	var h header
	switch {
	case len(b) < headerSize:
		return h, fmt.Errorf("%w: short header", errCorrupt)
	case string(b[:8]) != magic:
		return h, fmt.Errorf("%w: bad magic", errCorrupt)
	case binary.LittleEndian.Uint32(b[68:]) != crc32.Checksum(b[:68], castagnoli):
		return h, fmt.Errorf("%w: header checksum", errCorrupt)
	case binary.LittleEndian.Uint32(b[8:]) != fileVersion:
		return h, fmt.Errorf("%w: version %d", errCorrupt, binary.LittleEndian.Uint32(b[8:]))
	}
	h.comp = binary.LittleEndian.Uint32(b[12:])
	h.payloadLen = binary.LittleEndian.Uint64(b[16:])
	h.rawLen = binary.LittleEndian.Uint64(b[24:])
	copy(h.key[:], b[32:64])
	h.payloadCRC = binary.LittleEndian.Uint32(b[64:])
	return h, nil
}

// readBuffers are the buffers verifyFile and sameBytes read a store
// file's payload through.
var readBuffers = sync.Pool{New: func() any { return new([256 << 10]byte) }}

// checkedHeader reads the header of the store file f and checks that it is
// intact, names key k and gives the file's length.
func checkedHeader(f *os.File, k Key) (header, error) {
	fi, err := f.Stat()
	if err != nil {
		return header{}, err
	}
	var hb [headerSize]byte
	if _, err := io.ReadFull(f, hb[:]); err != nil {
		return header{}, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	h, err := decodeHeader(hb[:])
	switch {
	case err != nil:
		return h, err
	case h.key != k:
		return h, fmt.Errorf("%w: holds key %s", errCorrupt, h.key)
	case uint64(fi.Size()) != headerSize+h.payloadLen:
		return h, fmt.Errorf("%w: %d bytes, header says %d", errCorrupt, fi.Size(), headerSize+h.payloadLen)
	}
	return h, nil
}

// verifyFile reads and checks a whole store file of member k in
// compression comp and returns what its header says. The file is never
// written in place (Save replaces it by a rename), so what f holds stays
// what was checked.
func verifyFile(f *os.File, k Key, comp uint32) (Info, error) {
	h, err := checkedHeader(f, k)
	switch {
	case err != nil:
		return Info{}, err
	case h.comp != comp:
		return Info{}, fmt.Errorf("%w: compression %d", errCorrupt, h.comp)
	}
	buf := readBuffers.Get().(*[256 << 10]byte)
	defer readBuffers.Put(buf)
	var crc uint32
	for left := h.payloadLen; left > 0; {
		n, err := io.ReadFull(f, buf[:min(uint64(len(buf)), left)])
		if err != nil {
			return Info{}, fmt.Errorf("%w: %v", errCorrupt, err)
		}
		crc = crc32.Update(crc, castagnoli, buf[:n])
		left -= uint64(n)
	}
	if crc != h.payloadCRC {
		return Info{}, fmt.Errorf("%w: payload checksum", errCorrupt)
	}
	return Info{SizeBytes: int64(h.payloadLen), RawBytes: int64(h.rawLen)}, nil
}

// sameBytes checks that the rest of f holds exactly data.
func sameBytes(f *os.File, data []byte) error {
	buf := readBuffers.Get().(*[256 << 10]byte)
	defer readBuffers.Put(buf)
	for len(data) > 0 {
		n, err := io.ReadFull(f, buf[:min(len(buf), len(data))])
		if err != nil {
			return err
		}
		if !bytes.Equal(buf[:n], data[:n]) {
			return errCorrupt
		}
		data = data[n:]
	}
	return nil
}
