package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// helloEvery is how often the agent says hello until the host answers:
// the host may connect after the first one, or miss it.
const helloEvery = time.Second

// defaultEnv is the environment of the commands the agent runs.
var defaultEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"TERM=dumb",
}

// Serve answers the host on rw until the link fails. bootID tells this
// boot from the next.
func Serve(rw io.ReadWriter, bootID uint64, lg *log.Logger) error {
	return serveWith(rw, bootID, lg, handle)
}

// Handler answers one request: its input is in, its output goes to
// stdout and stderr; signals are the signals the client sends.
type Handler func(req Request, in io.Reader, stdout, stderr io.Writer, signals <-chan byte) Result

// ServeHandler answers the requests that come over rw with h, as the
// agent answers the host: `liveiso run` answers `liveiso exec` this way,
// passing requests on to the guest.
func ServeHandler(rw io.ReadWriter, id uint64, lg *log.Logger, h Handler) error {
	return serveWith(rw, id, lg, func(s *stream, req Request) Result {
		return h(req, s.in[tInput], s.out[tStdout], s.out[tStderr], s.sig)
	})
}

func serveWith(rw io.ReadWriter, bootID uint64, lg *log.Logger, h func(*stream, Request) Result) error {
	br := bufio.NewReaderSize(rw, 64<<10)
	hello := helloFrame(bootID)
	answered := make(chan error, 1)
	go func() {
		_, err := huntHello(br)
		answered <- err
	}()
	t := time.NewTicker(helloEvery)
	defer t.Stop()
	if _, err := rw.Write(hello); err != nil {
		return err
	}
wait:
	for {
		select {
		case err := <-answered:
			if err != nil {
				return err
			}
			break wait
		case <-t.C:
			if _, err := rw.Write(hello); err != nil {
				return err
			}
		}
	}
	m := newMux(rw)
	m.onOpen = func(s *stream, payload []byte) { serveRequest(s, payload, lg, h) }
	m.run(br)
	return m.closedErr()
}

// serveRequest runs one request and sends its result.
func serveRequest(s *stream, payload []byte, lg *log.Logger, h func(*stream, Request) Result) {
	defer s.forget()
	var req Request
	var r Result
	if err := json.Unmarshal(payload, &req); err != nil {
		r.Error = fmt.Sprintf("bad request: %v", err)
	} else {
		r = h(s, req)
	}
	s.out[tStdout].Close()
	s.out[tStderr].Close()
	b, _ := json.Marshal(r)
	if err := s.m.send(tExit, s.id, b); err != nil {
		lg.Printf("request %d: %v", s.id, err)
	}
}

func handle(s *stream, req Request) Result {
	switch req.Op {
	case OpExec:
		return runCommand(s, req)
	case OpGet:
		if err := writeTree(s.out[tStdout], req.Path); err != nil {
			return Result{ExitCode: 1, Error: err.Error()}
		}
	case OpPut:
		p := filepath.Clean(req.Path)
		if !filepath.IsAbs(p) || p == "/" {
			return Result{ExitCode: 1, Error: fmt.Sprintf("copy in to %q: want an absolute path below /", req.Path)}
		}
		dir, name := filepath.Split(p)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Result{ExitCode: 1, Error: err.Error()}
		}
		if err := extractTree(s.in[tInput], dir, name); err != nil {
			return Result{ExitCode: 1, Error: err.Error()}
		}
	default:
		return Result{ExitCode: 1, Error: fmt.Sprintf("unknown operation %q", req.Op)}
	}
	return Result{}
}

// runCommand runs req's command in a session of its own, with the
// stream's input and output, and forwards the host's signals to its
// process group.
func runCommand(s *stream, req Request) Result {
	var stdoutW, stderrW *os.File
	argv := req.Argv
	if req.Shell != "" {
		if _, err := os.Stat("/bin/sh"); err == nil {
			argv = []string{"/bin/sh", "-c", req.Shell}
		} else {
			argv = strings.Fields(req.Shell)
		}
	}
	if len(argv) == 0 {
		return Result{ExitCode: 127, Error: "no command"}
	}
	if req.TTY {
		return runTTY(s, req, argv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := command(argv, req)
	cmd.Stdin = s.in[tInput]
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// Output through pipes of our own, pumped to the host here rather
	// than by exec's copying goroutines: those are cut off a fixed time
	// after the command exits (WaitDelay), while a slow line may still be
	// sending what the command wrote long before.
	var readEnds []*os.File
	for _, dst := range []**os.File{&stdoutW, &stderrW} {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(readEnds)
			return Result{ExitCode: 127, Error: err.Error()}
		}
		readEnds = append(readEnds, r)
		*dst = w
	}
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	err := cmd.Start()
	stdoutW.Close()
	stderrW.Close()
	if err != nil {
		closeAll(readEnds)
		return Result{ExitCode: 127, Error: err.Error()}
	}
	exited := make(chan struct{})
	pumped := make(chan struct{}, 2)
	for i, t := range []frameType{tStdout, tStderr} {
		go func() {
			pump(readEnds[i], s.out[t], exited)
			readEnds[i].Close()
			pumped <- struct{}{}
		}()
	}
	go func() {
		for {
			select {
			case sig := <-s.sig:
				syscall.Kill(-cmd.Process.Pid, syscall.Signal(sig))
			case <-ctx.Done():
				return
			}
		}
	}()
	err = cmd.Wait()
	close(exited)
	<-pumped
	<-pumped
	return result(cmd, err)
}

// command is the exec.Cmd of argv, in / with the agent's environment.
func command(argv []string, req Request) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string(nil), defaultEnv...), req.Env...)
	cmd.Dir = "/"
	return cmd
}

// result is how cmd ended, from its Wait's err.
func result(cmd *exec.Cmd, err error) Result {
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return Result{ExitCode: 1, Error: err.Error()}
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return Result{ExitCode: -1, Signal: int(ws.Signal())}
	}
	return Result{ExitCode: ws.ExitStatus()}
}

// outputIdle is how long the agent waits, once a command has exited, for
// more of its output: a child it left in the background may hold the pipe
// open for ever.
const outputIdle = 2 * time.Second

// pump sends what r gives to w until the end of r, or until r has been
// idle for outputIdle after exited is closed. A write that waits for the
// host's credit does not count as idle.
func pump(r *os.File, w io.Writer, exited <-chan struct{}) {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-exited:
			r.SetReadDeadline(time.Now().Add(outputIdle))
		case <-stop:
		}
	}()
	buf := make([]byte, maxPayload)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
		select {
		case <-exited:
			r.SetReadDeadline(time.Now().Add(outputIdle))
		default:
		}
	}
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
