package qemu

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"sync"
)

// TailLines is how many console lines a failed run shows.
const TailLines = 40

// maxLineBytes bounds a console line: a guest that never prints a newline
// must not grow the buffer without end.
const maxLineBytes = 64 << 10

// DefaultFail are the console lines that mean a boot failed, whatever the
// rootfs: the kernel panicked, /init exited, the kernel found no root, the
// initrd did not unpack (a truncated image, a guest out of memory), or no
// init could run.
func DefaultFail() []*regexp.Regexp {
	return []*regexp.Regexp{
		regexp.MustCompile(`Kernel panic`),
		regexp.MustCompile(`Attempted to kill init`),
		regexp.MustCompile(`Unable to mount root`),
		regexp.MustCompile(`Initramfs unpacking failed`),
		regexp.MustCompile(`No working init found`),
	}
}

// MatchKind says which pattern a console line matched.
type MatchKind int

// Kinds of match.
const (
	MatchUntil MatchKind = iota // the line a scripted run waits for
	MatchFail                   // a line that means the boot failed
)

// Match is a console line that matched a pattern.
type Match struct {
	Kind    MatchKind
	Pattern *regexp.Regexp
	Line    string
}

// ConsoleOptions say what a Console looks for and where the bytes go.
type ConsoleOptions struct {
	Until *regexp.Regexp   // nil: none
	Fail  []*regexp.Regexp // checked before Until
	// Out gets every byte as the guest wrote it (the terminal); Log too
	// (--console-log). Either may be nil.
	Out, Log io.Writer
	// OnMatch is called, from Write, for each line that matches. It must
	// not block.
	OnMatch func(Match)
}

// Console is what QEMU writes to its stdout: the guest's serial console
// (and the monitor, when the user switches to it). It passes the bytes on
// and splits them into lines, which it matches and keeps the last
// TailLines of.
type Console struct {
	opts ConsoleOptions

	mu      sync.Mutex // Write runs in exec's copying goroutine; Tail anywhere
	partial []byte
	tail    *Ring
}

// NewConsole makes a console.
func NewConsole(opts ConsoleOptions) *Console {
	return &Console{opts: opts, tail: NewRing(TailLines)}
}

// Write passes p on and scans it. Errors of Out and Log are not QEMU's
// problem: a closed terminal must not stop the guest.
func (c *Console) Write(p []byte) (int, error) {
	n := len(p)
	if c.opts.Out != nil {
		c.opts.Out.Write(p)
	}
	if c.opts.Log != nil {
		c.opts.Log.Write(p)
	}
	c.mu.Lock()
	var matches []Match
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.partial = append(c.partial, p...)
			if len(c.partial) >= maxLineBytes {
				matches = c.line(matches)
			}
			break
		}
		c.partial = append(c.partial, p[:i]...)
		p = p[i+1:]
		matches = c.line(matches)
	}
	c.mu.Unlock()
	for _, m := range matches {
		if c.opts.OnMatch != nil {
			c.opts.OnMatch(m)
		}
	}
	return n, nil
}

// Flush ends a last line that has no newline (QEMU exited after it).
func (c *Console) Flush() {
	c.mu.Lock()
	var matches []Match
	if len(c.partial) > 0 {
		matches = c.line(nil)
	}
	c.mu.Unlock()
	for _, m := range matches {
		if c.opts.OnMatch != nil {
			c.opts.OnMatch(m)
		}
	}
}

// line takes the partial line as a whole one.
func (c *Console) line(matches []Match) []Match {
	line := CleanLine(string(c.partial))
	c.partial = c.partial[:0]
	c.tail.Add(line)
	for _, re := range c.opts.Fail {
		if re.MatchString(line) {
			return append(matches, Match{Kind: MatchFail, Pattern: re, Line: line})
		}
	}
	if c.opts.Until != nil && c.opts.Until.MatchString(line) {
		matches = append(matches, Match{Kind: MatchUntil, Pattern: c.opts.Until, Line: line})
	}
	return matches
}

// Tail returns the last TailLines lines, oldest first.
func (c *Console) Tail() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tail.Lines()
}

// ansiEscape is a terminal control sequence (CSI ... final byte, or ESC and
// one byte, like ESC c): firmware and boot loaders clear the screen and move the cursor.
var ansiEscape = regexp.MustCompile(`\x1b(\[[0-?]*[ -/]*[@-~]|[0-~])`)

// CleanLine is a console line as patterns see it: without the tty's
// carriage return, terminal escapes and other control characters.
func CleanLine(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		if r < ' ' && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
