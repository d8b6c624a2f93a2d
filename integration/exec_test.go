package integration

import (
	"regexp"
	"strings"
	"testing"
)

// execArgs are run's options for the fixture with the agent: the guest
// stays up (ArgWait) for the command.
func (fx fixture) execArgs(t *testing.T, more ...string) []string {
	return append(append(fx.imageArgs(t, ArgWait), "--accel", "tcg", "--timeout", "240"), more...)
}

// --exec runs the command in the guest: its stdout is run's stdout, its
// stderr apart, its status run's; a command killed by SIGKILL gives 137.
func TestRunExec(t *testing.T) {
	for _, tc := range []struct {
		name           string
		args           []string
		status         int
		stdout, stderr string
	}{
		{"status", []string{"--exec", "cat /etc/marker; echo to-stderr >&2; exit 7"}, 7, "exec status\n", "to-stderr\n"},
		{"sigkill direct", []string{"--direct", "--exec", "kill -9 $$"}, 137, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, "exec "+tc.name)
			consoleLog := t.TempDir() + "/console.log"
			r := startRun(t, fx.execArgs(t, append([]string{"--console-log", consoleLog}, tc.args...)...)...)
			code := r.wait(t)
			if code != tc.status {
				t.Fatalf("exit status %d, want %d\nstderr:\n%s", code, tc.status, r.stderr.String())
			}
			if got := r.stdout.String(); got != tc.stdout {
				t.Errorf("stdout %q, want %q (the command's alone)", got, tc.stdout)
			}
			if !strings.Contains(r.stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr.String())
			}
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(MarkerPrefix+fx.marker)).Match(readFile(t, consoleLog)) {
				t.Errorf("the console log lacks the marker")
			}
		})
	}
}
