package agent

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A frame is a header of headerSize bytes, then Length bytes of payload:
//
//	Type   uint8
//	Stream uint32, big endian: 0 for the link itself, else a request
//	Length uint32, big endian: at most maxPayload
const (
	headerSize = 9
	maxPayload = 32 << 10
)

// frameType is what a frame carries.
type frameType uint8

const (
	tHello  frameType = 1  // payload: helloMagic, then the sender's 8-byte boot id
	tOpen   frameType = 2  // host to guest: a JSON Request; opens Stream
	tInput  frameType = 3  // host to guest: the request's input (stdin, a tar archive)
	tStdout frameType = 4  // guest to host: the request's output
	tStderr frameType = 5  // guest to host: the command's standard error
	tEOF    frameType = 6  // payload: 1 byte, the frameType of the data that ended
	tCredit frameType = 7  // payload: 1 byte frameType, 4 bytes: the receiver took that many more
	tExit   frameType = 8  // guest to host: a JSON Result; the stream is over
	tSignal frameType = 9  // host to guest: 1 byte, a signal for the command
	tResize frameType = 10 // host to guest: rows and columns, 2 bytes each: the command's terminal's size
)

// fCompressed, or'd into the type of a data frame (tInput, tStdout,
// tStderr), says its payload is an S2 block (klauspost/compress/s2) of at
// most maxPayload bytes once decoded. A serial line is slow (README.md has
// the figures) and a command's output usually compresses well; a sender
// compresses when that saves an eighth or more. Credit counts decoded bytes.
const fCompressed frameType = 0x80

// helloMagic opens the payload of a hello frame. A side starts by looking
// for the other's hello in the bytes it reads: a serial line may carry
// what was sent to an earlier boot, or anything a kernel wrote there.
const helloMagic = "LIVEISO-AGENT/1\x00"

// helloPayloadSize is the hello frame's payload: the magic and a boot id.
const helloPayloadSize = len(helloMagic) + 8

// ErrProtocol means the other side sent what the protocol does not allow.
var ErrProtocol = errors.New("agent protocol error")

// frame is one decoded frame.
type frame struct {
	typ     frameType
	stream  uint32
	payload []byte
}

// appendFrame appends the encoding of one frame to dst.
func appendFrame(dst []byte, typ frameType, stream uint32, payload []byte) []byte {
	dst = append(dst, byte(typ))
	dst = binary.BigEndian.AppendUint32(dst, stream)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// helloFrame is the encoded hello frame of a side with boot id.
func helloFrame(id uint64) []byte {
	p := binary.BigEndian.AppendUint64([]byte(helloMagic), id)
	return appendFrame(nil, tHello, 0, p)
}

// helloPrefix is what every hello frame starts with: header and magic.
var helloPrefix = helloFrame(0)[:headerSize+len(helloMagic)]

// readFrame reads one frame. The payload is a new slice.
func readFrame(r io.Reader) (frame, error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return frame{}, err
	}
	f := frame{typ: frameType(h[0]), stream: binary.BigEndian.Uint32(h[1:5])}
	n := binary.BigEndian.Uint32(h[5:9])
	if n > maxPayload {
		return f, fmt.Errorf("%w: frame of type %d with %d bytes (at most %d)", ErrProtocol, f.typ, n, maxPayload)
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return f, err
	}
	return f, nil
}

// huntHello reads until the other side's hello frame and returns its boot
// id; what comes before is skipped.
func huntHello(r *bufio.Reader) (uint64, error) {
	var window []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		window = append(window, b)
		if !bytes.HasPrefix(helloPrefix, window[:min(len(window), len(helloPrefix))]) {
			// Slide to the next place the prefix could start.
			i := 1
			for ; i < len(window); i++ {
				if bytes.HasPrefix(helloPrefix, window[i:]) {
					break
				}
			}
			window = append(window[:0], window[i:]...)
			continue
		}
		if len(window) == len(helloPrefix) {
			var id [8]byte
			if _, err := io.ReadFull(r, id[:]); err != nil {
				return 0, err
			}
			return binary.BigEndian.Uint64(id[:]), nil
		}
	}
}
