package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/agent"
)

// shell runs an interactive shell in the guest on this terminal (run
// --shell): the terminal in raw mode, so that every key, Ctrl-C among
// them, goes to the guest's terminal, whose line discipline acts on it;
// the window's size follows on SIGWINCH.
func shell(ctx context.Context, c *agent.Client) (agent.Result, error) {
	in := int(os.Stdin.Fd())
	if old, err := unix.IoctlGetTermios(in, unix.TCGETS); err == nil {
		raw := *old
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		if err := unix.IoctlSetTermios(in, unix.TCSETS, &raw); err == nil {
			defer unix.IoctlSetTermios(in, unix.TCSETS, old)
		}
	}
	size := func() agent.WindowSize {
		for _, f := range []*os.File{os.Stdout, os.Stdin, os.Stderr} {
			if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Row > 0 {
				return agent.WindowSize{Rows: ws.Row, Cols: ws.Col}
			}
		}
		return agent.WindowSize{Rows: 24, Cols: 80}
	}
	resize := make(chan agent.WindowSize, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	go func() {
		for {
			select {
			case <-winch:
				select {
				case <-resize: // an older size nobody sent yet
				default:
				}
				resize <- size()
			case <-ctx.Done():
				return
			}
		}
	}()
	term := os.Getenv("TERM")
	if term == "" {
		term = "vt100"
	}
	ws := size()
	req := agent.Request{Op: agent.OpExec, Argv: []string{"/bin/sh"}, Env: []string{"TERM=" + term}, Rows: ws.Rows, Cols: ws.Cols}
	return c.DoTTY(ctx, req, os.Stdin, os.Stdout, resize)
}
