package agent

import "fmt"

// Operations of a Request.
const (
	OpExec = "exec" // run a command: input is its stdin, output its stdout and stderr
	OpGet  = "get"  // send Path as a tar archive (the output)
	OpPut  = "put"  // make Path from a tar archive (the input)
)

// Request is what the host asks of the guest, the payload of an open
// frame.
type Request struct {
	Op string `json:"op"`
	// Exec: Argv runs as it is; Shell is a command line for /bin/sh -c
	// (split at white space when the guest has no /bin/sh).
	Argv  []string `json:"argv,omitempty"`
	Shell string   `json:"shell,omitempty"`
	Env   []string `json:"env,omitempty"` // added to the agent's default environment
	// TTY runs the command on a new pseudo-terminal of Rows and Cols:
	// its input and output are the terminal's (no stderr apart), and the
	// terminal's line discipline makes a Ctrl-C in the input a SIGINT.
	TTY  bool   `json:"tty,omitempty"`
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
	// Get and put: the guest's path.
	Path string `json:"path,omitempty"`
}

// Result is how a request ended, the payload of an exit frame.
type Result struct {
	ExitCode int    `json:"exit_code"`        // the command's status; -1 when a signal ended it
	Signal   int    `json:"signal,omitempty"` // the signal that ended it
	Error    string `json:"error,omitempty"`  // the request failed in the agent (no such command, a bad path)
}

// Status is the exit status a shell would give: the code, 128+N for a
// command killed by signal N, 127 when the agent could not run it.
func (r Result) Status() int {
	switch {
	case r.Signal > 0:
		return 128 + r.Signal
	case r.Error != "":
		return 127
	}
	return r.ExitCode
}

// String says how it ended: "exited 0", "killed by signal 9".
func (r Result) String() string {
	switch {
	case r.Signal > 0:
		return fmt.Sprintf("killed by signal %d", r.Signal)
	case r.Error != "":
		return "failed: " + r.Error
	}
	return fmt.Sprintf("exited %d", r.ExitCode)
}
