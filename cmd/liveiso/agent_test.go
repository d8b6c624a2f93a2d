package main

import "testing"

// The agent starts first; a rdinit= of the user's becomes the init it
// hands over to; what follows -- goes to init untouched.
func TestAgentAppend(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "rdinit=/liveiso-agent"},
		{"console=ttyS0 quiet", "rdinit=/liveiso-agent console=ttyS0 quiet"},
		{"console=ttyS0 rdinit=/sbin/myinit quiet", "rdinit=/liveiso-agent console=ttyS0 liveiso_init=/sbin/myinit quiet"},
		{"quiet -- single rdinit=x", "rdinit=/liveiso-agent quiet -- single rdinit=x"},
	} {
		if got := agentAppend(tc.in); got != tc.want {
			t.Errorf("agentAppend(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
