package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// eventBuffer is how many QMP events wait for a reader before later ones
// are dropped. QEMU sends a handful per boot; the reader must not stall a
// command's reply behind them.
const eventBuffer = 64

// replyBuffer holds replies until their command reads them, and the late
// replies of commands that gave up waiting.
const replyBuffer = 4

// ErrQMPClosed means the QMP connection ended (QEMU exited).
var ErrQMPClosed = errors.New("QMP connection closed")

// Event is an asynchronous QMP message, such as SHUTDOWN or RESET.
type Event struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// qmpMessage is anything QEMU sends: a greeting, a reply or an event
// (QMP specification, docs/interop/qmp-spec.txt, 2.2-2.5).
type qmpMessage struct {
	Greeting *json.RawMessage `json:"QMP"`
	Return   *json.RawMessage `json:"return"`
	Error    *QMPError        `json:"error"`
	Event    string           `json:"event"`
	Data     json.RawMessage  `json:"data"`
	ID       uint64           `json:"id"`
}

// QMPError is QEMU's answer to a command that failed.
type QMPError struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

func (e *QMPError) Error() string { return e.Class + ": " + e.Desc }

// QMP is a client of the QEMU Machine Protocol on a Unix socket. It runs
// one command at a time; events arrive on Events.
type QMP struct {
	conn    net.Conn
	mu      sync.Mutex // held for a command and its reply
	lastID  uint64     // of the last command, under mu
	replies chan qmpMessage
	events  chan Event
	closed  chan struct{}
	err     error // why the connection ended, once closed is closed
}

// DialQMP connects to the socket at path, retrying until QEMU has created
// it or ctx ends, and completes the handshake (qmp_capabilities).
func DialQMP(ctx context.Context, path string) (*QMP, error) {
	var conn net.Conn
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			conn = c
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("QMP %s: %w (%w)", path, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	q := &QMP{
		conn:    conn,
		replies: make(chan qmpMessage, replyBuffer),
		events:  make(chan Event, eventBuffer),
		closed:  make(chan struct{}),
	}
	greeting := make(chan error, 1)
	go q.read(greeting)
	select {
	case err := <-greeting:
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("QMP %s: greeting: %w", path, err)
		}
	case <-ctx.Done():
		conn.Close()
		return nil, fmt.Errorf("QMP %s: greeting: %w", path, ctx.Err())
	}
	if _, err := q.Execute(ctx, "qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("QMP %s: %w", path, err)
	}
	return q, nil
}

// read decodes messages until the connection ends: the greeting first,
// then replies and events.
func (q *QMP) read(greeting chan<- error) {
	dec := json.NewDecoder(q.conn)
	var first qmpMessage
	if err := dec.Decode(&first); err != nil || first.Greeting == nil {
		if err == nil {
			err = errors.New("not a QMP greeting")
		}
		greeting <- err
		q.err = err
		close(q.closed)
		return
	}
	greeting <- nil
	for {
		var m qmpMessage
		if err := dec.Decode(&m); err != nil {
			q.err = fmt.Errorf("%w: %w", ErrQMPClosed, err)
			close(q.closed)
			return
		}
		if m.Event != "" {
			select {
			case q.events <- Event{Event: m.Event, Data: m.Data}:
			default:
			}
			continue
		}
		select {
		case q.replies <- m:
		default: // replies of commands that gave up fill it; Execute skips them
		}
	}
}

// Events delivers QEMU's asynchronous events.
func (q *QMP) Events() <-chan Event { return q.events }

// Execute runs one command and returns its "return" value.
func (q *QMP) Execute(ctx context.Context, command string, arguments any) (json.RawMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lastID++
	id := q.lastID
	msg := map[string]any{"execute": command, "id": id}
	if arguments != nil {
		msg["arguments"] = arguments
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		q.conn.SetWriteDeadline(dl)
	}
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	for {
		select {
		case m := <-q.replies:
			if m.ID != id {
				continue // the late reply of a command that gave up
			}
			if m.Error != nil {
				return nil, fmt.Errorf("%s: %w", command, m.Error)
			}
			if m.Return == nil {
				return nil, fmt.Errorf("%s: reply without return or error", command)
			}
			return *m.Return, nil
		case <-q.closed:
			return nil, fmt.Errorf("%s: %w", command, q.err)
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w", command, ctx.Err())
		}
	}
}

// Close ends the connection.
func (q *QMP) Close() error { return q.conn.Close() }
