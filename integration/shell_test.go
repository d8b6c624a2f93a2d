package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxSession is a tmux server of the test's own with one window.
type tmuxSession struct {
	sock string
}

func (s tmuxSession) run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitPane waits until the pane's text matches re.
func (s tmuxSession) waitPane(t *testing.T, re *regexp.Regexp, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pane := s.run(t, "capture-pane", "-p", "-S", "-100")
		if re.MatchString(pane) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pane never showed %q after %v:\n%s", re, timeout, pane)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// run --shell under tmux: a shell in the guest on the terminal, whose
// size follows the window, and where Ctrl-C interrupts the guest's
// foreground process.
func TestRunShell(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "shell")
	bin, err := liveisoBin()
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "ls")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	s := tmuxSession{sock: filepath.Join(tmp, "tmux.sock")}
	args := fx.execArgs(t, "--shell", "--timeout", "1800", "--console-log", filepath.Join(tmp, "console.log"))
	var b strings.Builder
	fmt.Fprintf(&b, "TMPDIR=%s %s run", tmp, bin)
	for _, a := range args {
		fmt.Fprintf(&b, " '%s'", strings.ReplaceAll(a, "'", `'\''`))
	}
	b.WriteString("; echo RUN-EXIT=$?; sleep 600")
	s.run(t, "-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30", "sh", "-c", b.String())
	defer exec.Command("tmux", "-S", s.sock, "kill-server").Run()
	s.run(t, "set-option", "-g", "status", "off")

	s.waitPane(t, regexp.MustCompile(`(?m)^/ #`), execWait)
	s.run(t, "send-keys", "echo $((6*7))", "Enter")
	s.waitPane(t, regexp.MustCompile(`(?m)^42\s*$`), 2*time.Minute)

	s.run(t, "resize-window", "-x", "120", "-y", "35")
	size := strings.TrimSpace(s.run(t, "display-message", "-p", "#{pane_height} #{pane_width}"))
	s.run(t, "send-keys", "stty size", "Enter")
	s.waitPane(t, regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(size)+`\s*$`), 2*time.Minute)

	s.run(t, "send-keys", "sleep 100; echo slept", "Enter")
	time.Sleep(3 * time.Second)
	start := time.Now()
	s.run(t, "send-keys", "C-c")
	s.run(t, "send-keys", "echo after$((1+1))", "Enter")
	s.waitPane(t, regexp.MustCompile(`(?m)^after2\s*$`), 2*time.Minute)
	if took := time.Since(start); took > 90*time.Second {
		t.Errorf("the shell answered %v after Ctrl-C: sleep was not interrupted", took)
	}
	if regexp.MustCompile(`(?m)^slept\s*$`).MatchString(s.run(t, "capture-pane", "-p", "-S", "-100")) {
		t.Errorf("sleep 100 ran to its end")
	}
	s.run(t, "send-keys", "exit 5", "Enter")
	s.waitPane(t, regexp.MustCompile(`RUN-EXIT=5`), 2*2*time.Minute)
}
