package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/liveiso/liveiso/agent"
)

const execLong = `Runs CMD with its arguments in the guest of a running 'liveiso run' that has the
guest agent (run --agent or --exec), as root, with this terminal's stdin,
stdout and stderr, and exits with its status (128+N when signal N killed it).
With one such run, --run is not needed; run says its ID when it starts.

Exit status: CMD's; 127 when the agent could not run it; 4 when no run
answered.`

func newExecCommand() *cobra.Command {
	var runID string
	cmd := &cobra.Command{
		Use:   "exec [--run ID] -- CMD [ARGS...]",
		Short: "run a command in the guest of a running 'liveiso run'",
		Long:  execLong,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{"no command given (liveiso exec -- CMD ARGS...)"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(runID, args)
		},
	}
	cmd.Flags().StringVar(&runID, "run", "", "the `ID` of the run whose guest runs CMD (run says it when it starts)")
	return cmd
}

func runExec(runID string, argv []string) error {
	sock, err := findRunSocket(runID)
	if err != nil {
		return exitStatus{4, err}
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return exitStatus{4, fmt.Errorf("run %s: %w", runID, err)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := agent.Handshake(ctx, conn)
	if err != nil {
		return exitStatus{4, fmt.Errorf("%s: %w", sock, err)}
	}
	defer c.Close()
	var stdin io.Reader = os.Stdin
	r, err := c.Do(context.Background(), agent.Request{Op: agent.OpExec, Argv: argv}, stdin, os.Stdout, os.Stderr)
	if err != nil {
		return exitStatus{4, err}
	}
	if r.Error != "" {
		fmt.Fprintf(os.Stderr, "liveiso exec: %s\n", r.Error)
	}
	if st := r.Status(); st != 0 {
		return exitStatus{st, nil}
	}
	return nil
}

// runDir is the per-user directory of the sockets of the runs with an
// agent: $XDG_RUNTIME_DIR/liveiso, else TMPDIR/liveiso-UID; mode 0700,
// and refused when it is not this user's own directory.
func runDir(create bool) (string, error) {
	dir := filepath.Join(os.TempDir(), "liveiso-"+strconv.Itoa(os.Getuid()))
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		dir = filepath.Join(d, "liveiso")
	}
	if create {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() || fi.Mode().Perm() != 0o700 {
		return "", fmt.Errorf("%s is not a directory of this user's with mode 0700: refusing to use it", dir)
	}
	return dir, nil
}

// runSocketName is the socket of the run with id in runDir.
func runSocketName(id string) string { return "run-" + id + ".sock" }

// findRunSocket finds the socket of run id, or of the one run when id is "".
func findRunSocket(id string) (string, error) {
	dir, err := runDir(false)
	if err != nil {
		return "", fmt.Errorf("no liveiso run with the guest agent is running (%v)", err)
	}
	if id != "" {
		p := filepath.Join(dir, runSocketName(id))
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("no liveiso run %s with the guest agent: %w", id, err)
		}
		return p, nil
	}
	socks, _ := filepath.Glob(filepath.Join(dir, runSocketName("*")))
	var live []string
	for _, s := range socks {
		if c, err := net.Dial("unix", s); err == nil {
			c.Close()
			live = append(live, s)
		}
	}
	switch len(live) {
	case 0:
		return "", errors.New("no liveiso run with the guest agent is running (start one with --agent or --exec)")
	case 1:
		return live[0], nil
	}
	var ids []string
	for _, s := range live {
		ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(s), "run-"), ".sock"))
	}
	sort.Strings(ids)
	return "", fmt.Errorf("%d runs with the guest agent are running (%s): choose one with --run ID", len(ids), strings.Join(ids, ", "))
}

// execServer is run's side of liveiso exec: a socket in runDir whose
// requests go to the agent of the current boot.
type execServer struct {
	ln   net.Listener
	path string
	dir  string

	mu     sync.Mutex
	client *agent.Client // the current boot's; nil until its agent answers
}

// listenExec starts the server of run id.
func listenExec(id string) (*execServer, error) {
	dir, err := runDir(true)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, runSocketName(id))
	os.Remove(path) // a run of the same pid that died
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	x := &execServer{ln: ln, path: path, dir: dir}
	go x.accept()
	return x, nil
}

func (x *execServer) setClient(c *agent.Client) {
	x.mu.Lock()
	x.client = c
	x.mu.Unlock()
}

func (x *execServer) accept() {
	for {
		conn, err := x.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			agent.ServeHandler(conn, uint64(os.Getpid()), log.New(io.Discard, "", 0), x.handle)
		}()
	}
}

// handle passes one request on to the guest; a signal from the client
// kills the command.
func (x *execServer) handle(req agent.Request, in io.Reader, stdout, stderr io.Writer, signals <-chan byte) agent.Result {
	x.mu.Lock()
	c := x.client
	x.mu.Unlock()
	if c == nil {
		return agent.Result{ExitCode: 1, Error: "the guest's agent has not answered yet (the guest is booting)"}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-signals:
			cancel()
		case <-ctx.Done():
		}
	}()
	r, err := c.Do(ctx, req, in, stdout, stderr)
	if err != nil {
		return agent.Result{ExitCode: 1, Error: err.Error()}
	}
	return r
}

// Close stops the server and removes its socket, and the directory when
// no other run uses it.
func (x *execServer) Close() error {
	err := x.ln.Close()
	os.Remove(x.path)
	os.Remove(x.dir)
	return err
}
