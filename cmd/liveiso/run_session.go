package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/qemu"
)

const (
	// quitGrace is how long QEMU has to quit before it is killed.
	quitGrace = 3 * time.Second
	// unmountGrace bounds the wait for the private mount's last open file
	// after QEMU has gone.
	unmountGrace = 30 * time.Second
	// signalGrace: a Ctrl-C on the terminal ends QEMU (same process group)
	// as it interrupts run, and QEMU's exit may be seen first.
	signalGrace = 200 * time.Millisecond
)

// session is one `liveiso run`: the live image, the QEMU booting it (a new
// one on restart), and what the console said.
type session struct {
	plan       runPlan
	log        *slog.Logger
	dir        string // private temporary directory: mount point, QMP sockets, OVMF vars
	mountpoint string
	stderr     io.Writer
	console    *qemu.Console
	matches    chan qemu.Match
	term       *qemu.Terminal // nil when stdin is not a terminal
	proc       *qemu.Process
	starts     int
	poweredOff bool              // the guest powered off: a reset must continue it too
	moveOn     func(pid int) int // moves QEMU's image.iso on; nil with --attach
	force      chan struct{}     // closed by a second signal: stop waiting in cleanup
	gen        uint64            // the newest generation: the one a boot now boots
	x          *execState        // --exec; nil without
	events     *eventLog         // --events; nil without
}

// runRun runs the plan and returns run's exit status as an exitStatus.
func runRun(p runPlan, out output) (err error) {
	log := out.log
	dir, err := os.MkdirTemp("", "liveiso-run-")
	if err != nil {
		return exitStatus{qemu.ExitError, err}
	}
	// Deferred first, so that it runs last: the private mount is inside.
	defer os.RemoveAll(dir)
	s := &session{plan: p, log: log, dir: dir, stderr: os.Stderr, force: make(chan struct{})}

	// The first signal ends the run and starts the cleanup; a second one
	// makes the cleanup stop waiting (QEMU is killed, a busy mount left
	// detached).
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	finished := make(chan struct{})
	defer close(finished)
	caught := make(chan os.Signal, 1)
	go func() {
		select {
		case sig := <-sigs:
			caught <- sig
			cancel()
		case <-finished:
			return
		}
		select {
		case <-sigs:
			s.say("second signal: killing QEMU and leaving at once")
			close(s.force)
		case <-finished:
		}
	}()
	interrupted := func() error {
		sig := <-caught
		caught <- sig
		s.say("%v: stopping", sig)
		code := qemu.ExitSignal
		if sig == syscall.SIGTERM {
			code = 128 + int(syscall.SIGTERM)
		}
		return exitStatus{code, nil}
	}

	if p.events != "" {
		w := io.Writer(os.Stdout)
		if p.events != "-" {
			f, err := os.Create(p.events)
			if err != nil {
				return exitStatus{qemu.ExitError, fmt.Errorf("--events: %w", err)}
			}
			defer f.Close()
			w = f
		}
		s.events = &eventLog{w: w}
		defer func() { s.runEnded(err) }()
	}
	if p.exec != nil {
		s.x = &execState{plan: p.exec, results: make(chan execResult, 1)}
		id := strconv.Itoa(os.Getpid())
		srv, err := listenExec(id)
		if err != nil {
			return exitStatus{qemu.ExitError, fmt.Errorf("the socket for liveiso exec: %w", err)}
		}
		defer srv.Close()
		s.x.server = srv
		s.say("run %s: 'liveiso exec --run %s -- CMD' runs CMD in the guest", id, id)
	}
	var consoleLog io.Writer
	if p.consoleLog != "" {
		f, err := os.Create(p.consoleLog)
		if err != nil {
			return exitStatus{qemu.ExitError, fmt.Errorf("--console-log: %w", err)}
		}
		defer f.Close()
		consoleLog = f
	}
	s.matches = make(chan qemu.Match, 1)
	s.console = qemu.NewConsole(qemu.ConsoleOptions{
		Until: p.until, Fail: p.fail, Out: s.consoleOut(), Log: consoleLog,
		OnMatch: s.onMatch,
	})
	if t, ok := qemu.SaveTerminal(os.Stdin); ok {
		s.term = t
		defer t.Restore()
	}

	// The live side: generations arrive on gens, newest first; a mount
	// that goes away is reported on failed.
	gens := make(chan live.Status, 1)
	ready := func(st live.Status) {
		select {
		case gens <- st:
		default: // an older one nobody took yet: the newer one replaces it
			select {
			case <-gens:
			default:
			}
			gens <- st
		}
	}
	failed := make(chan error, 1)
	var first live.Status
	if p.attach {
		s.mountpoint = p.mountpoint
		if first, err = readStatus(s.mountpoint); err != nil {
			return exitStatus{qemu.ExitError, err}
		}
		go pollStatus(ctx, s.mountpoint, first.Generation, ready, failed)
	} else {
		s.mountpoint = p.mountpoint
		if s.mountpoint == "" {
			s.mountpoint = filepath.Join(dir, "mnt")
			if err := os.Mkdir(s.mountpoint, 0o700); err != nil {
				return exitStatus{qemu.ExitError, err}
			}
		}
		l, err := startDaemon(ctx, daemonOptions{
			image:         p.image,
			capacityBytes: p.capacity,
			mount:         &mountOptions{mountpoint: s.mountpoint, allowOther: p.allowOther},
			ownLines:      true,
		}, out)
		if err != nil {
			if ctx.Err() != nil {
				return interrupted()
			}
			return exitStatus{qemu.ExitError, err}
		}
		defer s.stopDaemon(l)
		s.moveOn = l.MoveOn
		// run is a subscriber too: it boots each generation after the
		// first (it may already be a later one, if an edit came since).
		first = l.daemon.Current().Status
		l.daemon.Subscribe(func(snap *live.Snapshot) {
			st := snap.Status
			snap.Release()
			if st.Generation > first.Generation {
				ready(st)
			}
		})
		go func() {
			select {
			case <-l.Unmounted():
				failed <- fmt.Errorf("the live mount at %s was unmounted from outside", s.mountpoint)
			case <-ctx.Done():
			}
		}()
	}
	// Deferred after the unmount, so that it runs before it: QEMU holds
	// the image open.
	defer s.stopQEMU()

	if p.machine.OVMF.Vars != "" {
		// One copy for the whole run, restarts too, as a real machine
		// keeps its NVRAM across power cycles.
		o, err := p.machine.OVMF.PrivateVars(dir)
		if err != nil {
			return exitStatus{qemu.ExitError, err}
		}
		s.plan.machine.OVMF = o
	}
	s.gen = first.Generation
	s.event(event{Event: "generation_ready", Generation: first.Generation, Ms: first.BuildMs})
	s.warnUnpack(first)
	s.say("%s, booting it: %s", generationLine(first), p.describe())
	if s.term != nil && p.exec == nil {
		s.say("the guest's console follows; Ctrl-A x quits QEMU, Ctrl-A c switches to its monitor and back")
	}
	if err := s.start(ctx); err != nil {
		if ctx.Err() != nil {
			return interrupted()
		}
		return exitStatus{qemu.ExitError, err}
	}
	var timeout <-chan time.Time
	if p.timeout > 0 {
		t := time.NewTimer(p.timeout)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return interrupted()
		case err := <-failed:
			return exitStatus{qemu.ExitError, err}
		case <-timeout:
			s.tail(fmt.Sprintf("timed out after %v", p.timeout))
			return exitStatus{qemu.ExitTimeout, nil}
		case m := <-s.matches:
			return s.matched(m)
		case res := <-s.execResults():
			if done, err := s.execEnded(res); done {
				return err
			}
		case <-s.proc.Done():
			select {
			case <-ctx.Done():
				return interrupted()
			case <-time.After(signalGrace):
			}
			s.console.Flush()
			select {
			case m := <-s.matches:
				return s.matched(m)
			default:
			}
			return s.qemuExited()
		case ev := <-s.proc.Events():
			s.log.Debug("QMP event", "event", ev.Event, "data", string(ev.Data))
			if p.watch && poweredOff(ev) {
				s.poweredOff = true
				s.say("the guest powered off; the next generation boots it again")
			}
			if p.watch && guestRebooted(ev) {
				s.say("the guest rebooted; booting the newest generation")
				if err := s.bootAgain(ctx); err != nil {
					if ctx.Err() != nil {
						return interrupted()
					}
					return exitStatus{qemu.ExitError, err}
				}
			}
		case st := <-gens:
			if err := s.onGeneration(ctx, st); err != nil {
				if ctx.Err() != nil {
					return interrupted()
				}
				return exitStatus{qemu.ExitError, err}
			}
		}
	}
}

// onMatch is called from the console's writer for each matching line.
func (s *session) onMatch(m qemu.Match) {
	kind := "until"
	if m.Kind == qemu.MatchFail {
		kind = "fail"
	}
	s.event(event{Event: "console_match", Generation: s.gen, Kind: kind, Pattern: m.Pattern.String(), Line: m.Line})
	if m.Kind == qemu.MatchFail && s.plan.until == nil && (!s.plan.runsCommand() || s.plan.watch) {
		// Without --until the loop goes on: the next edit may fix it.
		s.say("the console matched --fail %q; waiting for the next generation", m.Pattern)
		return
	}
	select {
	case s.matches <- m:
	default: // the run ends on the first one
	}
}

// matched ends the run on a console line.
func (s *session) matched(m qemu.Match) error {
	if m.Kind == qemu.MatchUntil {
		s.say("the console matched --until %q", m.Pattern)
		return nil
	}
	s.tail(fmt.Sprintf("the console matched --fail %q: %s", m.Pattern, m.Line))
	return exitStatus{qemu.ExitFail, nil}
}

// qemuExited ends the run when QEMU has gone by itself.
func (s *session) qemuExited() error {
	err := s.proc.Err()
	how := "QEMU exited"
	if err != nil {
		how = fmt.Sprintf("QEMU exited (%v)", err)
	}
	if s.plan.until != nil {
		s.tail(fmt.Sprintf("%s before the console matched --until %q (the guest powered off or rebooted)", how, s.plan.until))
		return exitStatus{qemu.ExitEnded, nil}
	}
	if s.plan.runsCommand() && !s.plan.watch {
		s.tail(fmt.Sprintf("%s before %s ended (the guest powered off or rebooted)", how, s.plan.exec.command))
		return exitStatus{qemu.ExitEnded, nil}
	}
	if err == nil {
		s.say("%s", how) // the user quit it (Ctrl-A x)
		return nil
	}
	s.tail(how)
	return exitStatus{qemu.ExitEnded, nil}
}

// onGeneration acts on a new generation as --on-change says.
func (s *session) onGeneration(ctx context.Context, st live.Status) error {
	line := generationLine(st)
	s.event(event{Event: "generation_ready", Generation: st.Generation, Ms: st.BuildMs})
	if s.plan.watch && s.plan.onChange != onChangeNone {
		s.gen = st.Generation
		s.warnUnpack(st)
	}
	switch {
	case !s.plan.watch:
		s.say("%s; not booting it: --until boots once (add --watch)", line)
	case s.plan.onChange == onChangeNone:
		s.say("%s (--on-change none)", line)
	case s.plan.onChange == onChangeReset:
		s.say("%s, resetting the guest", line)
		return s.bootAgain(ctx)
	default:
		s.say("%s, restarting QEMU", line)
		return s.restart(ctx)
	}
	return nil
}

// poweredOff reports whether ev is the guest powering off (QMP SHUTDOWN,
// reason guest-shutdown), as opposed to a reset or a quit.
func poweredOff(ev qemu.Event) bool {
	var d struct {
		Reason string `json:"reason"`
	}
	return ev.Event == "SHUTDOWN" && json.Unmarshal(ev.Data, &d) == nil && d.Reason == "guest-shutdown"
}
