package generation

import (
	"encoding/json"
	"reflect"
	"testing"
)

// A warning says its source in JSON, and reads back; a plain string (an
// older status.json) reads as a warning without a source.
func TestWarningJSON(t *testing.T) {
	ws := []Warning{{WarningBoot, "kernel is not signed"}, {WarningRootfs, "skipped socket"}}
	b, err := json.Marshal(ws)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"source":"boot","message":"kernel is not signed"},{"source":"rootfs","message":"skipped socket"}]`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var back []Warning
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, ws) {
		t.Errorf("read back %+v, %v; want %+v", back, err, ws)
	}
	var old []Warning
	if err := json.Unmarshal([]byte(`["kernel is not signed"]`), &old); err != nil || !reflect.DeepEqual(old, []Warning{{Message: "kernel is not signed"}}) {
		t.Errorf("a plain string reads as %+v, %v", old, err)
	}
}
