package qemu

import (
	"context"
	"encoding/json"
)

// BootAgain resets the guest like the reset button, with the guest stopped
// around moveOn: QMP stop (QEMU finishes the reads in flight before it
// answers), moveOn (which lets the medium's server move QEMU's open image
// on to a newer generation: nothing of the running guest reads it), then
// system_reset and cont. It also starts a guest that powered off under
// NoShutdown, or that asked to reboot under RebootStops. moveOn may be nil.
func (p *Process) BootAgain(moveOn func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), qmpTimeout)
	defer cancel()
	if _, err := p.qmp.Execute(ctx, "stop", nil); err != nil {
		return err
	}
	if moveOn != nil {
		moveOn()
	}
	if _, err := p.qmp.Execute(ctx, "system_reset", nil); err != nil {
		return err
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
