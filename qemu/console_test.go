package qemu

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"testing"
)

func TestRing(t *testing.T) {
	r := NewRing(3)
	if got := r.Lines(); len(got) != 0 {
		t.Fatalf("empty ring: %q", got)
	}
	for i, want := range [][]string{{"1"}, {"1", "2"}, {"1", "2", "3"}, {"2", "3", "4"}, {"3", "4", "5"}, {"4", "5", "6"}, {"5", "6", "7"}} {
		r.Add(fmt.Sprint(i + 1))
		if got := r.Lines(); !slices.Equal(got, want) {
			t.Errorf("after %d lines: %q, want %q", i+1, got, want)
		}
	}
}

func TestDefaultFail(t *testing.T) {
	for _, line := range []string{
		"[    2.345678] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
		"[    1.0] VFS: Unable to mount root fs on unknown-block(0,0)",
		"Attempted to kill init! exitcode=0x00000000",
	} {
		matched := false
		for _, re := range DefaultFail() {
			matched = matched || re.MatchString(line)
		}
		if !matched {
			t.Errorf("no default --fail pattern matches %q", line)
		}
	}
	for _, re := range DefaultFail() {
		if re.MatchString("LIVEISO-MARKER: panic=-1 is on the command line") {
			t.Errorf("%s matches an ordinary line", re)
		}
	}
}

func TestConsole(t *testing.T) {
	var out, log bytes.Buffer
	var matches []Match
	c := NewConsole(ConsoleOptions{
		Until:   regexp.MustCompile(`^LIVEISO-MARKER: hi$`),
		Fail:    DefaultFail(),
		Out:     &out,
		Log:     &log,
		OnMatch: func(m Match) { matches = append(matches, m) },
	})
	input := []string{
		"\x1b[2J\x1b[HSeaBIOS (version 1.16)\r\n",
		"Booting from DVD/CD...\r\nLIVEISO-MAR", // a line cut by a write
		"KER: hi\r\n",
		"[ 3.0] Kernel panic - not syncing: Attempted to kill init!\r\n",
		"last line without newline",
	}
	for _, s := range input {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	all := ""
	for _, s := range input {
		all += s
	}
	if out.String() != all || log.String() != all {
		t.Errorf("bytes passed on changed:\nout %q\nlog %q", out.String(), log.String())
	}
	if len(matches) != 2 ||
		matches[0].Kind != MatchUntil || matches[0].Line != "LIVEISO-MARKER: hi" ||
		matches[1].Kind != MatchFail || matches[1].Pattern.String() != "Kernel panic" {
		t.Fatalf("matches: %+v", matches)
	}
	c.Flush()
	want := []string{"SeaBIOS (version 1.16)", "Booting from DVD/CD...", "LIVEISO-MARKER: hi",
		"[ 3.0] Kernel panic - not syncing: Attempted to kill init!", "last line without newline"}
	if got := c.Tail(); !slices.Equal(got, want) {
		t.Errorf("Tail = %q\nwant %q", got, want)
	}
}

func TestConsoleTailKeepsLast40(t *testing.T) {
	c := NewConsole(ConsoleOptions{})
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(c, "line %d\r\n", i)
	}
	tail := c.Tail()
	if len(tail) != TailLines || tail[0] != "line 61" || tail[TailLines-1] != "line 100" {
		t.Errorf("Tail: %d lines, %q ... %q", len(tail), tail[0], tail[len(tail)-1])
	}
}

func TestConsoleLongLine(t *testing.T) {
	c := NewConsole(ConsoleOptions{})
	c.Write(bytes.Repeat([]byte("x"), maxLineBytes+10))
	c.Write([]byte("\n"))
	tail := c.Tail()
	// The bytes beyond the bound became a line at once; the newline then
	// ended an empty one.
	if len(tail) != 2 || len(tail[0]) != maxLineBytes+10 || tail[1] != "" {
		lens := []int{}
		for _, l := range tail {
			lens = append(lens, len(l))
		}
		t.Errorf("line lengths %v", lens)
	}
}

func TestCleanLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                     "plain",
		"with cr\r":                 "with cr",
		"\x1b[1;31mred\x1b[0m text": "red text",
		"\x1b[?25lcursor\x1b[?25h":  "cursor",
		"bell\a and\ttab":           "bell and\ttab",
		"\x1bcreset then text":      "reset then text",
	} {
		if got := CleanLine(in); got != want {
			t.Errorf("CleanLine(%q) = %q, want %q", in, got, want)
		}
	}
}
