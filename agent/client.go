package agent

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrRebooted means the guest booted again while a request was running.
var ErrRebooted = errors.New("the guest booted again")

// Client is the host's side of one boot's agent.
type Client struct {
	m      *mux
	conn   io.Closer
	BootID uint64 // the guest's, from its hello
	next   atomic.Uint32
}

// Handshake waits on conn for the agent's hello (whatever comes before it
// is skipped), answers it and starts the link. ctx bounds the wait; conn
// is closed when it ends the wait, and by Close.
func Handshake(ctx context.Context, conn io.ReadWriteCloser) (*Client, error) {
	br := bufio.NewReaderSize(conn, 64<<10)
	type hello struct {
		id  uint64
		err error
	}
	got := make(chan hello, 1)
	go func() {
		id, err := huntHello(br)
		got <- hello{id, err}
	}()
	var h hello
	select {
	case h = <-got:
	case <-ctx.Done():
		conn.Close()
		return nil, ctx.Err()
	}
	if h.err != nil {
		return nil, fmt.Errorf("wait for the agent: %w", h.err)
	}
	c := &Client{m: newMux(conn), conn: conn, BootID: h.id}
	c.m.onHello = func(id uint64) error {
		if id != c.BootID {
			return ErrRebooted
		}
		return nil // its hello again, sent before it saw ours
	}
	if err := c.m.send(tHello, 0, helloFrame(uint64(time.Now().UnixNano()))[headerSize:]); err != nil {
		return nil, err
	}
	go c.m.run(br)
	return c, nil
}

// Done is closed when the link has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.m.done }

// Err is why the link ended, once Done is closed.
func (c *Client) Err() error { return c.m.closedErr() }

// Close ends the link.
func (c *Client) Close() error {
	c.m.close(ErrClosed)
	return c.conn.Close()
}

// open starts req on a new stream.
func (c *Client) open(req Request) (*stream, error) {
	id := c.next.Add(1)
	s, err := c.m.newStream(id, []frameType{tStdout, tStderr}, []frameType{tInput})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := c.m.send(tOpen, id, b); err != nil {
		return nil, err
	}
	return s, nil
}

// Do runs req: stdin (nil: none) is its input, its output goes to stdout
// and stderr as it comes. It returns when the request has ended and its
// output has been written. When ctx ends, the command is killed (SIGKILL).
func (c *Client) Do(ctx context.Context, req Request, stdin io.Reader, stdout, stderr io.Writer) (Result, error) {
	return c.do(ctx, req, stdin, stdout, stderr, nil)
}

// WindowSize is a terminal's size.
type WindowSize struct{ Rows, Cols uint16 }

// DoTTY runs req (req.TTY set) on a terminal in the guest: stdin is what
// is typed (a Ctrl-C in it interrupts the guest's foreground process),
// stdout gets the terminal's output, and every size on resize becomes the
// guest terminal's.
func (c *Client) DoTTY(ctx context.Context, req Request, stdin io.Reader, stdout io.Writer, resize <-chan WindowSize) (Result, error) {
	req.TTY = true
	return c.do(ctx, req, stdin, stdout, nil, resize)
}

func (c *Client) do(ctx context.Context, req Request, stdin io.Reader, stdout, stderr io.Writer, resize <-chan WindowSize) (Result, error) {
	s, err := c.open(req)
	if err != nil {
		return Result{}, err
	}
	defer s.forget()
	go func() {
		in := s.out[tInput]
		if stdin != nil {
			if _, err := io.Copy(in, stdin); err != nil {
				return
			}
		}
		in.Close()
	}()
	var wg sync.WaitGroup
	copyErrs := make([]error, 2)
	for i, k := range []struct {
		t frameType
		w io.Writer
	}{{tStdout, stdout}, {tStderr, stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A writer that fails is drained on: the guest waits for
			// credit, and the request must still end.
			w := &drainWriter{w: k.w}
			io.Copy(w, s.in[k.t])
			copyErrs[i] = w.err
		}()
	}
	killed := false
	for {
		select {
		case b := <-s.exit:
			wg.Wait()
			var r Result
			if err := json.Unmarshal(b, &r); err != nil {
				return r, fmt.Errorf("%w: exit: %v", ErrProtocol, err)
			}
			return r, errors.Join(copyErrs...)
		case <-c.m.done:
			return Result{}, c.m.closedErr()
		case ws := <-resize:
			b := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, ws.Rows), ws.Cols)
			c.m.send(tResize, s.id, b)
		case <-ctx.Done():
			if !killed {
				killed = true
				c.m.send(tSignal, s.id, []byte{byte(syscall.SIGKILL)})
			}
			ctx = context.Background() // and wait for its exit
		}
	}
}

// drainWriter writes to w until it fails, then discards.
type drainWriter struct {
	w   io.Writer
	err error
}

func (d *drainWriter) Write(p []byte) (int, error) {
	if d.w != nil && d.err == nil {
		_, d.err = d.w.Write(p)
	}
	return len(p), nil
}

// CopyIn copies hostPath (a file, symlink or directory tree) to guestPath
// in the guest, keeping modes and modification times.
func (c *Client) CopyIn(ctx context.Context, hostPath, guestPath string) error {
	if _, err := os.Lstat(hostPath); err != nil {
		return fmt.Errorf("copy in: %w", err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTree(pw, hostPath)) }()
	defer pr.Close()
	r, err := c.Do(ctx, Request{Op: OpPut, Path: guestPath}, pr, nil, nil)
	if err != nil {
		return fmt.Errorf("copy %s in to %s: %w", hostPath, guestPath, err)
	}
	if r.Error != "" {
		return fmt.Errorf("copy %s in to %s: %s", hostPath, guestPath, r.Error)
	}
	return nil
}

// CopyOut copies guestPath (a file, symlink or directory tree) into the
// host directory hostDir, as hostDir/BASE where BASE is guestPath's last
// element, keeping modes and modification times. Nothing is written
// outside hostDir/BASE, whatever the guest sends.
func (c *Client) CopyOut(ctx context.Context, guestPath, hostDir string) error {
	base := filepath.Base(filepath.Clean(guestPath))
	if base == "/" || base == "." || base == ".." {
		return fmt.Errorf("copy out %s: name a file or directory below /", guestPath)
	}
	pr, pw := io.Pipe()
	extracted := make(chan error, 1)
	go func() {
		err := extractTree(pr, hostDir, base)
		if err == nil {
			_, err = io.Copy(io.Discard, pr) // tar's zero blocks and anything after
		}
		pr.CloseWithError(err)
		extracted <- err
	}()
	r, err := c.Do(ctx, Request{Op: OpGet, Path: guestPath}, nil, pw, nil)
	pw.Close()
	xerr := <-extracted
	switch {
	case err != nil && xerr != nil:
		return fmt.Errorf("copy out %s to %s: %w", guestPath, hostDir, xerr)
	case err != nil:
		return fmt.Errorf("copy out %s to %s: %w", guestPath, hostDir, err)
	case r.Error != "":
		return fmt.Errorf("copy out %s to %s: %s", guestPath, hostDir, r.Error)
	case xerr != nil:
		return fmt.Errorf("copy out %s to %s: %w", guestPath, hostDir, xerr)
	}
	return nil
}
