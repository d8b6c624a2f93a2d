package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// humanHandler writes log records as lines for people (output.go):
//
//	liveiso: warning: the image will not boot on BIOS: no isolinux.bin (path=...)
//
// the message, the error after a colon, the other attributes in
// parentheses; no time, no level for Info and Debug.
type humanHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Leveler
	attrs []slog.Attr // from WithAttrs
	group string      // prefix of later keys, from WithGroup
}

var _ slog.Handler = (*humanHandler)(nil)

func newHumanHandler(w io.Writer, level slog.Leveler) *humanHandler {
	return &humanHandler{mu: new(sync.Mutex), w: w, level: level}
}

func (h *humanHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *humanHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("liveiso: ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	}
	b.WriteString(r.Message)
	var errText string
	var rest []string
	add := func(prefix string, a slog.Attr) {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return
		}
		if a.Key == "err" && prefix == "" {
			errText = a.Value.String()
			return
		}
		rest = append(rest, prefix+a.Key+"="+a.Value.String())
	}
	for _, a := range h.attrs {
		add("", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		add(h.group, a)
		return true
	})
	if errText != "" {
		b.WriteString(": " + errText)
	}
	if len(rest) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(rest, ", "))
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *humanHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(c.attrs[:len(c.attrs):len(c.attrs)], as...)
	if h.group != "" {
		for i := len(h.attrs); i < len(c.attrs); i++ {
			c.attrs[i].Key = h.group + c.attrs[i].Key
		}
	}
	return &c
}

func (h *humanHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}
