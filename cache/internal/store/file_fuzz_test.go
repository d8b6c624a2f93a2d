package store

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzStoreHeader: the store file header's encoder and its reader
// (checkedHeader) meet. Arbitrary bytes never panic the reader, and what it
// accepts is exactly what the encoder writes for the header it returns; a
// header made from the same bytes by the encoder is read back as it was.
func FuzzStoreHeader(f *testing.F) {
	valid := header{comp: codeGzip, payloadLen: 5, rawLen: 12, payloadCRC: 7}
	valid.key[0] = 1
	f.Add(append(valid.encode(), "abcde"...))
	f.Add([]byte(magic))
	f.Add(bytes.Repeat([]byte{0xff}, headerSize+3))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		name := filepath.Join(dir, "member")
		var key Key
		if len(data) >= 64 {
			copy(key[:], data[32:64])
		}
		if h, err := readHeader(t, name, data, key); err == nil {
			if !bytes.Equal(h.encode(), data[:headerSize]) {
				t.Fatalf("accepted header %x, which encodes as %x", data[:headerSize], h.encode())
			}
			if uint64(len(data)) != headerSize+h.payloadLen {
				t.Fatalf("accepted a %d-byte file whose header says %d payload bytes", len(data), h.payloadLen)
			}
		}

		// A header the encoder makes from these bytes, for a payload of the
		// rest of them, reads back as it was.
		var b [64]byte
		copy(b[:], data)
		want := header{
			comp:       binary.LittleEndian.Uint32(b[0:]),
			rawLen:     binary.LittleEndian.Uint64(b[4:]),
			payloadCRC: binary.LittleEndian.Uint32(b[12:]),
		}
		copy(want.key[:], b[16:48])
		payload := data[min(len(data), 48):]
		want.payloadLen = uint64(len(payload))
		got, err := readHeader(t, name, append(want.encode(), payload...), want.key)
		if err != nil || got != want {
			t.Fatalf("header %+v read back as %+v, %v", want, got, err)
		}
		var other Key
		other[0] = ^want.key[0]
		if _, err := readHeader(t, name, append(want.encode(), payload...), other); err == nil {
			t.Fatal("a header was accepted for another key")
		}
	})
}

// readHeader writes data to the file name and reads its header.
func readHeader(t *testing.T, name string, data []byte, k Key) (header, error) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fl, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	return checkedHeader(fl, k)
}
