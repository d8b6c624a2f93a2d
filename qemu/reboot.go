package qemu

import (
	"context"
	"encoding/json"
	"fmt"
)

// BootAgain resets the guest like the reset button, with the guest stopped
// around moveOn: QMP stop (QEMU finishes the reads in flight before it
// answers), moveOn (which lets the medium's server move QEMU's open image
// on to a newer generation: nothing of the running guest reads it), then
// system_reset and, once QEMU says it has reset the machine, cont. It
// also starts a guest that powered off under NoShutdown, or that asked to
// reboot under RebootStops. moveOn may be nil. It reads Events itself
// while it waits, so call it from the goroutine that reads them.
func (p *Process) BootAgain(ctx context.Context, moveOn func()) error {
	ctx, cancel := context.WithTimeout(ctx, qmpTimeout)
	defer cancel()
	if _, err := p.qmp.Execute(ctx, "stop", nil); err != nil {
		return err
	}
	if moveOn != nil {
		moveOn()
	}
	// QEMU answers system_reset before its main loop resets the machine,
	// and a cont before that would let the old guest run on for a moment
	// (or fail, when the guest had shut down). The RESET event says it
	// is done; older events are of no use to anyone by now.
	for drained := false; !drained; {
		select {
		case <-p.qmp.Events():
		default:
			drained = true
		}
	}
	// Under RebootStops (-action reboot=shutdown) QEMU turns system_reset
	// into a shutdown too: let it reset, for this once.
	if _, err := p.qmp.Execute(ctx, "set-action", map[string]string{"reboot": "reset"}); err != nil {
		return err
	}
	if _, err := p.qmp.Execute(ctx, "system_reset", nil); err != nil {
		return err
	}
	for reset := false; !reset; {
		select {
		case ev := <-p.qmp.Events():
			reset = ev.Event == "RESET"
		case <-p.qmp.closed:
			return fmt.Errorf("system_reset: %w", p.qmp.err)
		case <-ctx.Done():
			return fmt.Errorf("system_reset: no RESET event: %w", ctx.Err())
		}
	}
	if p.rebootStops {
		if _, err := p.qmp.Execute(ctx, "set-action", map[string]string{"reboot": "shutdown"}); err != nil {
			return err
		}
	}
	_, err := p.qmp.Execute(ctx, "cont", nil)
	return err
}

// Shutdown reasons of the QMP SHUTDOWN event that liveiso acts on.
const (
	ShutdownGuest = "guest-shutdown" // the guest powered off
	ShutdownReset = "guest-reset"    // the guest rebooted, under RebootStops
	ShutdownPanic = "guest-panic"    // the guest panicked (pvpanic), under RebootStops
)

// ShutdownReason is the reason of a SHUTDOWN event, "" for another event.
func ShutdownReason(ev Event) string {
	var d struct {
		Reason string `json:"reason"`
	}
	if ev.Event != "SHUTDOWN" || json.Unmarshal(ev.Data, &d) != nil {
		return ""
	}
	return d.Reason
}
