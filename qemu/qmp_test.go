package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeQEMU is a QMP server on a Unix socket that answers like QEMU 7.2 and
// records the commands it got.
type fakeQEMU struct {
	path     string
	commands chan string
	// reply answers one command; it may write events before the reply.
	reply func(w *json.Encoder, cmd map[string]any)
}

func startFakeQEMU(t *testing.T, reply func(*json.Encoder, map[string]any)) *fakeQEMU {
	t.Helper()
	f := &fakeQEMU{path: filepath.Join(t.TempDir(), "qmp.sock"), commands: make(chan string, 16), reply: reply}
	l, err := net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		enc := json.NewEncoder(conn)
		enc.Encode(map[string]any{"QMP": map[string]any{"version": map[string]any{}, "capabilities": []string{"oob"}}})
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			var cmd map[string]any
			if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
				enc.Encode(map[string]any{"error": map[string]any{"class": "GenericError", "desc": "bad JSON"}})
				continue
			}
			name, _ := cmd["execute"].(string)
			f.commands <- name
			if name == "qmp_capabilities" {
				enc.Encode(map[string]any{"return": map[string]any{}, "id": cmd["id"]})
				continue
			}
			f.reply(enc, cmd)
			if name == "quit" {
				return
			}
		}
	}()
	return f
}

func ok(enc *json.Encoder, cmd map[string]any) {
	enc.Encode(map[string]any{"return": map[string]any{}, "id": cmd["id"]})
}

func TestQMPHandshakeAndCommands(t *testing.T) {
	f := startFakeQEMU(t, func(enc *json.Encoder, cmd map[string]any) {
		switch cmd["execute"] {
		case "system_reset":
			// QEMU sends the RESET event before the reply.
			enc.Encode(map[string]any{"event": "RESET", "data": map[string]any{"guest": false}, "timestamp": map[string]any{}})
			ok(enc, cmd)
		case "query-status":
			enc.Encode(map[string]any{"return": map[string]any{"status": "running", "running": true}, "id": cmd["id"]})
		default:
			enc.Encode(map[string]any{"error": map[string]any{"class": "CommandNotFound", "desc": fmt.Sprintf("The command %v has not been found", cmd["execute"])}, "id": cmd["id"]})
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := DialQMP(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if got := <-f.commands; got != "qmp_capabilities" {
		t.Fatalf("first command %q, want qmp_capabilities", got)
	}
	if _, err := q.Execute(ctx, "system_reset", nil); err != nil {
		t.Fatalf("system_reset: %v", err)
	}
	select {
	case ev := <-q.Events():
		if ev.Event != "RESET" || !strings.Contains(string(ev.Data), `"guest":false`) {
			t.Errorf("event %+v, want RESET", ev)
		}
	case <-time.After(5 * time.Second):
		t.Error("no RESET event")
	}
	ret, err := q.Execute(ctx, "query-status", nil)
	if err != nil || !strings.Contains(string(ret), `"status":"running"`) {
		t.Errorf("query-status = %s, %v", ret, err)
	}
	_, err = q.Execute(ctx, "no-such-command", nil)
	var qe *QMPError
	if !errors.As(err, &qe) || qe.Class != "CommandNotFound" {
		t.Errorf("unknown command: %v, want a CommandNotFound QMPError", err)
	}
}

func TestQMPSkipsLateReplies(t *testing.T) {
	release := make(chan struct{})
	f := startFakeQEMU(t, func(enc *json.Encoder, cmd map[string]any) {
		if cmd["execute"] == "slow" {
			<-release
			enc.Encode(map[string]any{"return": "slow's reply", "id": cmd["id"]})
			return
		}
		enc.Encode(map[string]any{"return": "fast's reply", "id": cmd["id"]})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := DialQMP(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := q.Execute(short, "slow", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow: %v, want a deadline error", err)
	}
	close(release) // its reply now arrives before the next one
	ret, err := q.Execute(ctx, "fast", nil)
	if err != nil || string(ret) != `"fast's reply"` {
		t.Errorf("fast = %s, %v; want its own reply", ret, err)
	}
}

func TestQMPClosed(t *testing.T) {
	f := startFakeQEMU(t, func(enc *json.Encoder, cmd map[string]any) {}) // quit: no reply, the connection ends
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := DialQMP(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Execute(ctx, "quit", nil); !errors.Is(err, ErrQMPClosed) {
		t.Errorf("quit: %v, want ErrQMPClosed", err)
	}
}

func TestQMPNotAGreeting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-qmp.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err == nil {
			conn.Write([]byte("QEMU 7.2.0 monitor - type 'help' for more information\n"))
			conn.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := DialQMP(ctx, path); err == nil || !strings.Contains(err.Error(), "greeting") {
		t.Errorf("DialQMP of a human monitor: %v, want a greeting error", err)
	}
}

func TestQMPWaitsForSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := DialQMP(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DialQMP of a missing socket: %v, want the context's deadline", err)
	}
}
