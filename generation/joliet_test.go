package generation

import (
	"testing"

	"github.com/liveiso/liveiso/isolayout"
)

// TestPlanJoliet: Joliet is on unless NoJoliet, and JolietLong asks for
// long names.
func TestPlanJoliet(t *testing.T) {
	for _, c := range []struct {
		name string
		o    planOptions
		want *isolayout.Joliet
	}{
		{"default", planOptions{}, &isolayout.Joliet{}},
		{"long", planOptions{JolietLong: true}, &isolayout.Joliet{Long: true}},
		{"off", planOptions{NoJoliet: true}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.VolumeID = "TEST"
			in, err := plan(gatheredWith(bios(), uefi()), c.o)
			if err != nil {
				t.Fatal(err)
			}
			if (in.Joliet == nil) != (c.want == nil) || in.Joliet != nil && *in.Joliet != *c.want {
				t.Errorf("Joliet %+v, want %+v", in.Joliet, c.want)
			}
			if _, err := isolayout.Plan(in); err != nil {
				t.Errorf("isolayout.Plan: %v", err)
			}
		})
	}
}
