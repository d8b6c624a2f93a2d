package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// qmpTimeout bounds QEMU's start until its QMP socket answers, and each
// command.
const qmpTimeout = 30 * time.Second

// ErrNoQEMU means the emulator is not installed.
var ErrNoQEMU = errors.New(Binary + " not found")

// LookPath finds the emulator, or says which package to install.
func LookPath() (string, error) {
	p, err := exec.LookPath(Binary)
	if err != nil {
		return "", fmt.Errorf("%w in PATH: install the Debian package %s", ErrNoQEMU, BinaryPackage)
	}
	return p, nil
}

// IO is where QEMU's standard files go. Stdin is the terminal the user
// types into (QEMU puts a terminal in raw mode itself and restores it when
// it exits normally); nil is /dev/null.
type IO struct {
	Stdin          *os.File
	Stdout, Stderr io.Writer
}

// Process is one running QEMU and its QMP connection.
type Process struct {
	cmd  *exec.Cmd
	qmp  *QMP
	done chan struct{} // closed when QEMU has exited and its output is copied
	// rebootStops is Machine.RebootStops, which BootAgain restores.
	rebootStops bool
	exitErr     error // set before done is closed
}

// Start starts QEMU for m and connects to its QMP socket. The process is
// killed if liveiso dies (Pdeathsig), so that no VM outlives the run, and
// when ctx ends before QMP answers (a Ctrl-C while it starts).
func Start(ctx context.Context, binary string, m Machine, stdio IO) (*Process, error) {
	cmd := exec.Command(binary, m.Args()...)
	if stdio.Stdin != nil {
		cmd.Stdin = stdio.Stdin
	}
	cmd.Stdout, cmd.Stderr = stdio.Stdout, stdio.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &Process{cmd: cmd, done: make(chan struct{}), rebootStops: m.RebootStops && !m.NoReboot}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig follows the OS thread that forked, not the process:
		// the thread must live until QEMU exits, or QEMU is killed when
		// the Go runtime ends it (as it does a thread a goroutine left
		// locked).
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.exitErr = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	// The socket appears once QEMU has parsed its arguments; a QEMU that
	// rejects them exits first.
	qctx, cancel := context.WithTimeout(ctx, qmpTimeout)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-qctx.Done():
		}
	}()
	q, err := DialQMP(qctx, m.QMP)
	if err != nil {
		p.Kill()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("start %s: %w", binary, ctx.Err())
		}
		if p.exitErr != nil {
			return nil, fmt.Errorf("%s exited at start (%v): see its messages above", binary, p.exitErr)
		}
		return nil, err
	}
	p.qmp = q
	return p, nil
}

// Pid is QEMU's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when QEMU has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how QEMU exited, once Done is closed.
func (p *Process) Err() error { return p.exitErr }

// Events are QEMU's QMP events (SHUTDOWN, RESET, STOP, ...).
func (p *Process) Events() <-chan Event { return p.qmp.Events() }

// Reset resets the guest like the reset button, QEMU keeping its files
// open: the firmware reads the medium again. A guest that powered off
// under NoShutdown is stopped: cont starts it again (a second round trip,
// left out when the guest runs). ctx ends the wait for QEMU's answers.
func (p *Process) Reset(ctx context.Context, cont bool) error {
	ctx, cancel := context.WithTimeout(ctx, qmpTimeout)
	defer cancel()
	if _, err := p.qmp.Execute(ctx, "system_reset", nil); err != nil {
		return err
	}
	if !cont {
		return nil
	}
	_, err := p.qmp.Execute(ctx, "cont", nil)
	return err
}

// Stop asks QEMU to quit and kills it if it has not after grace, or when
// ctx ends (a second Ctrl-C). It returns when QEMU has exited, and may be
// called more than once.
func (p *Process) Stop(ctx context.Context, grace time.Duration) {
	select {
	case <-p.done:
		p.closeQMP()
		return
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	if p.qmp != nil {
		p.qmp.Execute(ctx, "quit", nil) // the connection may end before the reply
	}
	select {
	case <-p.done:
	case <-ctx.Done():
	}
	p.Kill()
}

// Kill ends QEMU at once and waits until it has exited.
func (p *Process) Kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
	p.closeQMP()
}

func (p *Process) closeQMP() {
	if p.qmp != nil {
		p.qmp.Close()
	}
}
