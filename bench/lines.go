package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// timedLine is one line a process wrote, with when it arrived.
type timedLine struct {
	at   time.Time
	text string
}

// lineLog records the lines written to it with their arrival times: the
// clock of the loop benchmark reads them.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []timedLine
}

func (l *lineLog) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, timedLine{at: now, text: strings.TrimRight(string(l.partial[:i]), "\r")})
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

// count is the number of whole lines so far.
func (l *lineLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// find returns the first line from index from on that matches re.
func (l *lineLog) find(re *regexp.Regexp, from int) (timedLine, int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := from; i < len(l.lines); i++ {
		if re.MatchString(l.lines[i].text) {
			return l.lines[i], i, true
		}
	}
	return timedLine{}, 0, false
}

// waitFor polls (every 2 ms) for a line matching re from index from on.
func (l *lineLog) waitFor(re *regexp.Regexp, from int, timeout time.Duration, exited <-chan struct{}) (timedLine, int, error) {
	deadline := time.Now().Add(timeout)
	for {
		if line, i, ok := l.find(re, from); ok {
			return line, i, nil
		}
		select {
		case <-exited:
			return timedLine{}, 0, fmt.Errorf("exited before a line matching %q:\n%s", re, l.tail(20))
		default:
		}
		if time.Now().After(deadline) {
			return timedLine{}, 0, fmt.Errorf("no line matching %q after %v:\n%s", re, timeout, l.tail(20))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, line := range l.lines[max(0, len(l.lines)-n):] {
		b.WriteString(line.text + "\n")
	}
	return b.String()
}
