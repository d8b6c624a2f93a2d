package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/s2"
)

// Windows: how many bytes of one stream's data of one kind a side may send
// before the receiver grants more. Input (host to guest) is kept small: the
// guest's serial driver has no flow control towards QEMU, so what is in
// flight must fit its buffers (4 KiB of line discipline, 640 KiB of flip
// buffers) while the server reads it; output is read by the host at once.
const (
	inputWindow  = 64 << 10
	outputWindow = 256 << 10
)

func window(t frameType) int {
	if t == tInput {
		return inputWindow
	}
	return outputWindow
}

// ErrClosed means the link ended (the guest rebooted or powered off, the
// socket closed) before a request was done.
var ErrClosed = errors.New("agent link closed")

// mux runs the streams of one link. One goroutine (run) reads frames and
// never blocks on a stream's consumer: data waits in the stream's inbox,
// which credit bounds; writers wait for credit.
type mux struct {
	w   io.Writer
	wmu sync.Mutex // one frame is one Write

	mu      sync.Mutex // guards everything below and every box
	streams map[uint32]*stream
	err     error // set once, when the link ends
	done    chan struct{}

	// onOpen starts a request on the guest side; nil on the host side,
	// where a tOpen is a protocol error.
	onOpen func(s *stream, req []byte)
	// onHello is called for a hello frame after the handshake.
	onHello func(id uint64) error
}

// stream is one request's state on either side.
type stream struct {
	m    *mux
	id   uint32
	in   map[frameType]*inbox
	out  map[frameType]*outbox
	exit chan []byte    // host side: the Result's JSON, once
	sig  chan byte      // guest side: signals for the command
	size chan [2]uint16 // guest side: the terminal's new sizes
}

func newMux(w io.Writer) *mux {
	return &mux{w: w, streams: map[uint32]*stream{}, done: make(chan struct{})}
}

// newStream registers stream id receiving the kinds in and sending the
// kinds out. The caller holds no lock.
func (m *mux) newStream(id uint32, in, out []frameType) (*stream, error) {
	s := &stream{m: m, id: id, in: map[frameType]*inbox{}, out: map[frameType]*outbox{},
		exit: make(chan []byte, 1), sig: make(chan byte, 8), size: make(chan [2]uint16, 8)}
	for _, t := range in {
		s.in[t] = &inbox{s: s, typ: t}
	}
	for _, t := range out {
		s.out[t] = &outbox{s: s, typ: t, credit: window(t)}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	if _, ok := m.streams[id]; ok {
		return nil, fmt.Errorf("%w: stream %d opened twice", ErrProtocol, id)
	}
	m.streams[id] = s
	return s, nil
}

// forget drops a finished stream; frames for it are ignored from then on.
func (s *stream) forget() {
	s.m.mu.Lock()
	delete(s.m.streams, s.id)
	s.m.mu.Unlock()
}

// send writes one frame.
func (m *mux) send(typ frameType, stream uint32, payload []byte) error {
	b := appendFrame(make([]byte, 0, headerSize+len(payload)), typ, stream, payload)
	m.wmu.Lock()
	defer m.wmu.Unlock()
	select {
	case <-m.done:
		return m.closedErr()
	default:
	}
	if _, err := m.w.Write(b); err != nil {
		m.close(fmt.Errorf("%w: write: %v", ErrClosed, err))
		return m.closedErr()
	}
	return nil
}

func (m *mux) closedErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// close ends the link with err and wakes every waiter.
func (m *mux) close(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return
	}
	if !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	m.err = err
	close(m.done)
	for _, s := range m.streams {
		for _, b := range s.in {
			b.cond().Broadcast()
		}
		for _, b := range s.out {
			b.cond().Broadcast()
		}
	}
}

// run reads frames from r until it fails, then closes the link.
func (m *mux) run(r io.Reader) {
	for {
		f, err := readFrame(r)
		if err == nil {
			err = m.dispatch(f)
		}
		if err != nil {
			m.close(err)
			return
		}
	}
}

func (m *mux) dispatch(f frame) error {
	if f.typ&fCompressed != 0 {
		f.typ &^= fCompressed
		if f.typ != tInput && f.typ != tStdout && f.typ != tStderr {
			return fmt.Errorf("%w: compressed frame of type %d", ErrProtocol, f.typ)
		}
		n, err := s2.DecodedLen(f.payload)
		if err != nil || n > maxPayload {
			return fmt.Errorf("%w: stream %d: bad compressed data (%d bytes, %v)", ErrProtocol, f.stream, n, err)
		}
		if f.payload, err = s2.Decode(nil, f.payload); err != nil {
			return fmt.Errorf("%w: stream %d: %v", ErrProtocol, f.stream, err)
		}
	}
	switch f.typ {
	case tHello:
		if len(f.payload) != helloPayloadSize || string(f.payload[:len(helloMagic)]) != helloMagic {
			return fmt.Errorf("%w: bad hello", ErrProtocol)
		}
		if m.onHello != nil {
			return m.onHello(binary.BigEndian.Uint64(f.payload[len(helloMagic):]))
		}
		return nil
	case tOpen:
		if m.onOpen == nil {
			return fmt.Errorf("%w: the guest opened a stream", ErrProtocol)
		}
		// Registered before the next frame is read: its input may follow
		// at once.
		s, err := m.newStream(f.stream, []frameType{tInput}, []frameType{tStdout, tStderr})
		if err != nil {
			return err
		}
		go m.onOpen(s, f.payload)
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streams[f.stream]
	if s == nil {
		return nil // a stream that has ended: late credit, or a signal after the exit
	}
	switch f.typ {
	case tInput, tStdout, tStderr:
		b := s.in[f.typ]
		if b == nil {
			return fmt.Errorf("%w: stream %d: unexpected data of type %d", ErrProtocol, f.stream, f.typ)
		}
		if b.eof || len(b.buf)+len(f.payload) > window(f.typ) {
			return fmt.Errorf("%w: stream %d: data of type %d beyond its window or end", ErrProtocol, f.stream, f.typ)
		}
		b.buf = append(b.buf, f.payload...)
		b.cond().Broadcast()
	case tEOF:
		if len(f.payload) != 1 || s.in[frameType(f.payload[0])] == nil {
			return fmt.Errorf("%w: stream %d: bad end of data", ErrProtocol, f.stream)
		}
		b := s.in[frameType(f.payload[0])]
		b.eof = true
		b.cond().Broadcast()
	case tCredit:
		if len(f.payload) != 5 || s.out[frameType(f.payload[0])] == nil {
			return fmt.Errorf("%w: stream %d: bad credit", ErrProtocol, f.stream)
		}
		b := s.out[frameType(f.payload[0])]
		b.credit += int(binary.BigEndian.Uint32(f.payload[1:]))
		if b.credit > window(b.typ) {
			return fmt.Errorf("%w: stream %d: credit beyond the window", ErrProtocol, f.stream)
		}
		b.cond().Broadcast()
	case tExit:
		select {
		case s.exit <- f.payload:
		default:
			return fmt.Errorf("%w: stream %d: two exits", ErrProtocol, f.stream)
		}
	case tResize:
		if len(f.payload) == 4 {
			select {
			case s.size <- [2]uint16{binary.BigEndian.Uint16(f.payload), binary.BigEndian.Uint16(f.payload[2:])}:
			default: // a flood: the later ones will do
			}
		}
	case tSignal:
		if len(f.payload) == 1 {
			select {
			case s.sig <- f.payload[0]:
			default: // a flood of signals: the command has had some already
			}
		}
	default:
		return fmt.Errorf("%w: unknown frame type %d", ErrProtocol, f.typ)
	}
	return nil
}

// inbox is data received for a stream, read by its consumer.
type inbox struct {
	s   *stream
	typ frameType
	buf []byte
	eof bool
	cnd *sync.Cond
}

func (b *inbox) cond() *sync.Cond {
	if b.cnd == nil {
		b.cnd = sync.NewCond(&b.s.m.mu)
	}
	return b.cnd
}

// Read reads received data and grants the sender as much again.
func (b *inbox) Read(p []byte) (int, error) {
	m := b.s.m
	m.mu.Lock()
	for len(b.buf) == 0 && !b.eof && m.err == nil {
		b.cond().Wait()
	}
	if len(b.buf) == 0 {
		defer m.mu.Unlock()
		if b.eof {
			return 0, io.EOF
		}
		return 0, m.err
	}
	n := copy(p, b.buf)
	b.buf = append(b.buf[:0], b.buf[n:]...)
	m.mu.Unlock()
	credit := binary.BigEndian.AppendUint32([]byte{byte(b.typ)}, uint32(n))
	if err := m.send(tCredit, b.s.id, credit); err != nil && n == 0 {
		return 0, err
	}
	return n, nil
}

// outbox sends a stream's data of one kind as credit allows.
type outbox struct {
	s      *stream
	typ    frameType
	credit int
	cnd    *sync.Cond
}

func (b *outbox) cond() *sync.Cond {
	if b.cnd == nil {
		b.cnd = sync.NewCond(&b.s.m.mu)
	}
	return b.cnd
}

// Write sends p, waiting for credit as needed.
func (b *outbox) Write(p []byte) (int, error) {
	m := b.s.m
	written := 0
	for len(p) > 0 {
		m.mu.Lock()
		for b.credit == 0 && m.err == nil {
			b.cond().Wait()
		}
		if m.err != nil {
			err := m.err
			m.mu.Unlock()
			return written, err
		}
		n := min(len(p), b.credit, maxPayload)
		b.credit -= n
		m.mu.Unlock()
		typ, payload := b.typ, p[:n]
		if enc := s2.EncodeBetter(nil, payload); len(enc) <= n-n/8 {
			typ, payload = typ|fCompressed, enc
		}
		if err := m.send(typ, b.s.id, payload); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// Close sends the end of this kind of data.
func (b *outbox) Close() error {
	return b.s.m.send(tEOF, b.s.id, []byte{byte(b.typ)})
}
