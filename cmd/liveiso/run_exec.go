package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/liveiso/liveiso/agent"
	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/qemu"
)

// execFlags are run's options that talk to the guest through the agent.
type execFlags struct {
	exec      string
	copyIn    []string
	copyOut   []string
	untilPass bool
	events    string
	console   bool
	agent     bool
	shell     bool
}

func (f *execFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.exec, "exec", "", "run `CMD` in the guest (/bin/sh -c, as root, through the guest agent) once it is up; its stdout and stderr are run's, and run exits with its status")
	fs.StringArrayVar(&f.copyIn, "copy-in", nil, "with --exec: copy `HOST_PATH:GUEST_PATH` (a file or a directory tree) into the guest before CMD (repeatable)")
	fs.StringArrayVar(&f.copyOut, "copy-out", nil, "with --exec: copy `GUEST_PATH:HOST_DIR` out of the guest after CMD, as HOST_DIR/BASENAME (repeatable)")
	fs.BoolVar(&f.untilPass, "until-pass", false, "with --watch --exec: end with status 0 at the first generation whose CMD exits 0")
	fs.StringVar(&f.events, "events", "", "write run's events as JSON lines to `FILE` (- for stdout, when --exec does not use it)")
	fs.BoolVar(&f.shell, "shell", false, "an interactive shell in the guest on this terminal, through the guest agent (a terminal of its own: the console goes to --console-log); run ends when it does")
	fs.BoolVar(&f.agent, "agent", false, "boot with the guest agent, for 'liveiso exec' (--exec implies it)")
	fs.BoolVar(&f.console, "console", false, "with --exec: the guest's console on stderr (it goes only to --console-log otherwise)")
}

// execPlan is the checked form of execFlags.
type execPlan struct {
	command   string // "": the agent only (--agent), for liveiso exec
	copyIn    []copySpec
	copyOut   []copySpec
	untilPass bool
	console   bool
	shell     bool // --shell: command is only its name
	agent     *agentImage
}

type copySpec struct{ from, to string }

// planExec checks the agent's options into p; the image gets the agent.
func (f *runFlags) planExec(p *runPlan) error {
	x := f.execFlags
	p.events = x.events
	if x.shell {
		switch {
		case x.exec != "":
			return usageError{"--shell and --exec exclude each other"}
		case len(x.copyIn) > 0 || len(x.copyOut) > 0 || x.untilPass || f.watch || f.until != "":
			return usageError{"--shell goes without --copy-in, --copy-out, --watch, --until-pass and --until"}
		case f.attach != "":
			return usageError{"--shell adds the guest agent to the image run builds: not with --attach"}
		}
		e := &execPlan{command: "the shell", shell: true, console: x.console, agent: &agentImage{}}
		if err := withAgent(&p.image, e.agent); err != nil {
			return err
		}
		p.exec = e
		return nil
	}
	if x.exec == "" {
		switch {
		case x.agent && (len(x.copyIn) > 0 || len(x.copyOut) > 0 || x.untilPass || x.console):
			return usageError{"--copy-in, --copy-out, --until-pass and --console go with --exec"}
		case x.agent:
			if f.attach != "" {
				return usageError{"--agent adds the guest agent to the image run builds: not with --attach"}
			}
			e := &execPlan{agent: &agentImage{}}
			if err := withAgent(&p.image, e.agent); err != nil {
				return err
			}
			p.exec = e
			return nil
		case len(x.copyIn) > 0 || len(x.copyOut) > 0:
			return usageError{"--copy-in and --copy-out go with --exec"}
		case x.untilPass:
			return usageError{"--until-pass goes with --watch --exec"}
		case x.console:
			return usageError{"--console goes with --exec (without it the console is on stdout)"}
		}
		return nil
	}
	if f.attach != "" {
		return usageError{"--exec adds the guest agent to the image run builds: not with --attach"}
	}
	if f.until != "" {
		return usageError{"--exec and --until exclude each other: the command's status ends the run"}
	}
	if x.untilPass && !f.watch {
		return usageError{"--until-pass goes with --watch"}
	}
	if x.events == "-" {
		return usageError{"--events -: stdout is the command's with --exec; name a file"}
	}
	e := &execPlan{command: x.exec, untilPass: x.untilPass, console: x.console, agent: &agentImage{}}
	for _, s := range x.copyIn {
		host, guest, ok := strings.Cut(s, ":")
		if !ok || host == "" || !strings.HasPrefix(guest, "/") || filepath.Clean(guest) == "/" {
			return usageError{fmt.Sprintf("--copy-in %q: want HOST_PATH:GUEST_PATH, GUEST_PATH absolute and below /", s)}
		}
		if _, err := os.Lstat(host); err != nil {
			return fmt.Errorf("--copy-in: %w", err)
		}
		e.copyIn = append(e.copyIn, copySpec{host, guest})
	}
	for _, s := range x.copyOut {
		guest, host, ok := strings.Cut(s, ":")
		if !ok || host == "" || !strings.HasPrefix(guest, "/") || filepath.Clean(guest) == "/" {
			return usageError{fmt.Sprintf("--copy-out %q: want GUEST_PATH:HOST_DIR, GUEST_PATH absolute and below /", s)}
		}
		if fi, err := os.Stat(host); err != nil || !fi.IsDir() {
			return fmt.Errorf("--copy-out %q: %s is not a directory", s, host)
		}
		e.copyOut = append(e.copyOut, copySpec{guest, host})
	}
	if err := withAgent(&p.image, e.agent); err != nil {
		return err
	}
	p.exec = e
	return nil
}

// execState is a run's agent side: the job of the current boot.
type execState struct {
	plan    *execPlan
	sock    string // the current QEMU's agent socket
	gen     uint64 // the generation the current boot runs
	cancel  context.CancelFunc
	jobDone chan struct{}
	results chan execResult
	server  *execServer // answers liveiso exec
}

// runsCommand says whether run runs a command in the guest (--exec).
func (p runPlan) runsCommand() bool { return p.exec != nil && p.exec.command != "" }

// execResult is how one boot's job ended.
type execResult struct {
	gen     uint64
	result  agent.Result
	err     error // the command did not end: the link ended, the agent failed
	copyErr error // a --copy-in (then the command did not run) or --copy-out failed
	took    time.Duration
}

// agentDial bounds the wait for QEMU's agent socket; QEMU made it before
// its QMP socket answered, so it is there at once.
const agentDial = 10 * time.Second

// consoleOut is where the guest's console goes besides --console-log.
func (s *session) consoleOut() io.Writer {
	switch {
	case !s.plan.runsCommand():
		return os.Stdout
	case s.plan.exec.console:
		return os.Stderr
	}
	return nil
}

// qemuStdin is QEMU's stdin: the terminal, unless the console is not on it.
func (s *session) qemuStdin() *os.File {
	if s.plan.runsCommand() {
		return nil
	}
	return os.Stdin
}

// withAgentPort adds the agent's serial port to m for the QEMU start
// number n.
func (s *session) withAgentPort(m *qemu.Machine, n int) {
	if s.plan.exec == nil {
		return
	}
	s.x.sock = filepath.Join(s.dir, fmt.Sprintf("agent-%d.sock", n))
	m.Extra = append(qemu.AgentSerialArgs(s.x.sock), m.Extra...)
}

// startJob starts the agent job of a boot of generation gen: wait for the
// agent, copy in, run the command, copy out.
func (s *session) startJob(gen uint64) {
	if s.plan.exec == nil {
		return
	}
	s.stopJob()
	x := s.x
	x.gen = gen
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	x.cancel, x.jobDone = cancel, done
	sock := x.sock
	go func() {
		defer close(done)
		res := s.job(ctx, sock, gen)
		if !s.plan.runsCommand() {
			return // the agent only: its end is no result
		}
		select {
		case x.results <- res:
		case <-ctx.Done():
		}
	}()
}

// stopJob ends the current job, if any, and waits for it.
func (s *session) stopJob() {
	if s.x == nil || s.x.cancel == nil {
		return
	}
	s.x.cancel()
	<-s.x.jobDone
	s.x.cancel = nil
}

// execResults delivers the jobs' results; nil without --exec.
func (s *session) execResults() <-chan execResult {
	if s.x == nil {
		return nil
	}
	return s.x.results
}

func (s *session) job(ctx context.Context, sock string, gen uint64) execResult {
	res := execResult{gen: gen}
	conn, err := dialAgent(ctx, sock)
	if err != nil {
		res.err = err
		return res
	}
	c, err := agent.Handshake(ctx, conn)
	if err != nil {
		conn.Close()
		res.err = fmt.Errorf("waiting for the agent: %w", err)
		return res
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	s.x.server.setClient(c)
	defer s.x.server.setClient(nil)
	s.event(event{Event: "agent_ready", Generation: gen})
	p := s.plan.exec
	if p.command == "" {
		// The agent only: liveiso exec uses it until the boot ends.
		select {
		case <-ctx.Done():
		case <-c.Done():
		}
		res.err = c.Err()
		return res
	}
	for _, cp := range p.copyIn {
		if err := c.CopyIn(ctx, cp.from, cp.to); err != nil {
			res.copyErr = err
			return res
		}
	}
	s.event(event{Event: "command_started", Generation: gen, Command: p.command})
	start := time.Now()
	if p.shell {
		res.result, res.err = shell(ctx, c)
	} else {
		res.result, res.err = c.Do(ctx, agent.Request{Op: agent.OpExec, Shell: p.command}, nil, os.Stdout, os.Stderr)
	}
	res.took = time.Since(start)
	if res.err != nil {
		return res
	}
	status := res.result.Status()
	s.event(event{Event: "command_ended", Generation: gen, Command: p.command, Status: &status, Ms: res.took.Milliseconds()})
	for _, cp := range p.copyOut {
		if err := c.CopyOut(ctx, cp.from, cp.to); err != nil {
			res.copyErr = errors.Join(res.copyErr, err)
		}
	}
	return res
}

// dialAgent connects to QEMU's agent socket.
func dialAgent(ctx context.Context, sock string) (net.Conn, error) {
	deadline := time.Now().Add(agentDial)
	for {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", sock)
		if err == nil {
			return conn, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("connect to the agent's port %s: %w", sock, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// execEnded acts on a job's end; done says the run ends, with err.
func (s *session) execEnded(res execResult) (done bool, err error) {
	p := s.plan.exec
	if s.plan.watch {
		line := fmt.Sprintf("generation %d: %s", res.gen, p.command)
		switch {
		case res.err != nil:
			s.say("%s did not end: %v", line, res.err)
			return false, nil
		case res.copyErr != nil && res.took == 0:
			s.say("%s not run: %v", line, res.copyErr)
			return false, nil
		}
		s.say("%s %s in %.1f s", line, res.result, res.took.Seconds())
		if res.copyErr != nil {
			s.say("%v", res.copyErr)
		}
		if p.untilPass && res.result.Status() == 0 {
			s.say("--until-pass: generation %d passes", res.gen)
			return true, nil
		}
		return false, nil
	}
	switch {
	case res.err != nil:
		s.tail(fmt.Sprintf("%s did not end: %v", p.command, res.err))
		return true, exitStatus{qemu.ExitEnded, nil}
	case res.copyErr != nil && res.took == 0:
		s.say("%v", res.copyErr)
		return true, exitStatus{qemu.ExitError, nil}
	}
	if res.result.Error != "" {
		s.say("%s: %s", p.command, res.result.Error)
	}
	status := res.result.Status()
	if res.copyErr != nil {
		s.say("%v", res.copyErr)
		if status == 0 {
			status = qemu.ExitError
		}
	}
	return true, exitStatus{status, nil}
}

// warnUnpack says when the initrd, unpacked, would take more than half of
// the guest's memory: the kernel unpacks it into RAM and, when that runs
// out, boots on with a half-filled root.
func (s *session) warnUnpack(st live.Status) {
	unpacked := st.InitrdUnpacked
	if s.plan.exec != nil {
		unpacked += s.plan.exec.agent.unpackedBytes
	}
	mem := s.plan.machine.MemoryMB << 20
	// While it unpacks, the compressed initrd is in memory too.
	if need := unpacked + st.InitrdSize; need > mem/2 {
		s.say("warning: generation %d's initrd takes %d MiB unpacked (and %d MiB while it unpacks), more than half of --memory %d MiB: the guest may run out while it unpacks and boot with a part of its root missing; give it more --memory",
			st.Generation, unpacked>>20, need>>20, mem>>20)
	}
}
