package testenv

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// QEMU's human monitor, over the VM's Unix socket.

// Monitor sends one command to QEMU's human monitor and returns its reply.
func (vm *VM) Monitor(command string) (string, error) {
	conn, err := vm.dialMonitor(10 * time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	if _, err := readToPrompt(r); err != nil {
		return "", fmt.Errorf("monitor greeting: %w", err)
	}
	if _, err := fmt.Fprintf(conn, "%s\n", command); err != nil {
		return "", fmt.Errorf("monitor %q: %w", command, err)
	}
	reply, err := readToPrompt(r)
	if err != nil {
		return "", fmt.Errorf("monitor %q: %w", command, err)
	}
	// The monitor echoes the command (with terminal escapes) on the first line.
	if _, after, ok := strings.Cut(reply, "\n"); ok {
		reply = after
	}
	return strings.TrimSpace(strings.ReplaceAll(reply, "\r", "")), nil
}

// dialMonitor connects to the monitor socket, waiting for QEMU to create it
// if it has only just started.
func (vm *VM) dialMonitor(timeout time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.Dial("unix", vm.monitorPath)
		if err == nil {
			return conn, nil
		}
		if vm.Exited() {
			return nil, fmt.Errorf("monitor: qemu exited (%v)\n%s", vm.exitErr, vm.tailReport())
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("monitor %s: %w", vm.monitorPath, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const monitorPrompt = "(qemu) "

func readToPrompt(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for !strings.HasSuffix(b.String(), monitorPrompt) {
		c, err := r.ReadByte()
		if err != nil {
			return b.String(), err
		}
		b.WriteByte(c)
	}
	return strings.TrimSuffix(b.String(), monitorPrompt), nil
}

// SystemReset resets the guest like the reset button: QEMU keeps running
// and keeps its files open.
func (vm *VM) SystemReset() error {
	reply, err := vm.Monitor("system_reset")
	if err != nil {
		return err
	}
	if reply != "" {
		return fmt.Errorf("system_reset: %s", reply)
	}
	return nil
}
