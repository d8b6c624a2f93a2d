package integration

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// UEFI iPXE (OVMF running the EFI driver of the e1000's iPXE ROM) netboots
// the fixture from liveiso serve: /boot.ipxe takes its UEFI branch and
// chains the generation's uki.efi, which boots to the marker. After an edit
// and a reset it chains the new generation's UKI and boots the new marker.
func TestServeNetbootUKI(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "netboot uki.efi")
	s := startServe(t, fx, testenv.ArgWait)

	resp, err := http.Get(s.url + "boot.ipxe")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^chain http://\S+/g/\d+-[0-9a-f]+/uki\.efi\b`).Match(script) {
		t.Fatalf("/boot.ipxe has no chain line for the UKI (is systemd-stub installed?):\n%s", script)
	}

	vm := bootToMarker(t, testenv.VMOptions{
		OVMF: true,
		Boot: "n",
		NIC:  "user,model=e1000,bootfile=http://10.0.2.2:" + s.port() + "/boot.ipxe",
	}, fx.marker)
	first := s.status(t)
	readUKI := func(gen uint64) bool {
		return regexp.MustCompile(fmt.Sprintf(`msg="client reads a generation" .*generation=%d file=uki\.efi`, gen)).MatchString(s.logTail(200))
	}
	if !readUKI(first.Generation) {
		t.Errorf("the guest booted, but the log does not say it read generation %d's uki.efi:\n%s", first.Generation, s.logTail(20))
	}
	if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestWaiting+"$"), time.Minute); err != nil {
		t.Fatal(err)
	}

	marker := "netboot uki.efi after the edit"
	writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte(marker+"\n"))
	st := s.waitNext(t, first.Generation)
	t.Logf("generation %d ready; resetting the guest", st.Generation)
	if err := vm.SystemReset(); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.WaitForLine(markerLine(marker), bootTimeout); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
	if !readUKI(st.Generation) {
		t.Errorf("after the reset the log does not say the guest read generation %d's uki.efi:\n%s", st.Generation, s.logTail(20))
	}
	if strings.Contains(s.logTail(200), "file=vmlinuz") {
		t.Errorf("UEFI iPXE read a vmlinuz instead of (or besides) the UKI:\n%s", s.logTail(20))
	}
}
