package main

import (
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"
)

// event is one line of --events.
type event struct {
	Time       string `json:"time"`
	Event      string `json:"event"` // generation_ready, boot_started, reset_sent, console_match, agent_ready, command_started, command_ended, run_ended
	Generation uint64 `json:"generation,omitempty"`
	Ms         int64  `json:"ms,omitempty"`
	Kind       string `json:"kind,omitempty"`    // console_match: until or fail
	Pattern    string `json:"pattern,omitempty"` // console_match
	Line       string `json:"line,omitempty"`    // console_match
	Command    string `json:"command,omitempty"`
	Status     *int   `json:"status,omitempty"` // command_ended, run_ended
}

// eventLog writes events as JSON lines; the zero value writes nothing.
type eventLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *eventLog) emit(e event) {
	if l == nil || l.w == nil {
		return
	}
	e.Time = time.Now().UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(e)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(b, '\n'))
}

func (s *session) event(e event) { s.events.emit(e) }

// runEnded is the last event, with run's exit status.
func (s *session) runEnded(err error) {
	status := 0
	var es exitStatus
	if errors.As(err, &es) {
		status = es.code
	} else if err != nil {
		status = 4
	}
	s.event(event{Event: "run_ended", Status: &status})
}
