package integration

import (
	"encoding/json"
	"fmt"
	"github.com/liveiso/liveiso/internal/testenv"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// UEFI HTTP Boot without iPXE: OVMF boots the stable URL /image.iso (with
// Secure Boot enforcing and without) and /uki.efi, given as a boot option
// with the URL (AddHTTPBootOption: QEMU's user-mode DHCP server cannot send
// the HTTPClient vendor class an HTTP Boot offer needs), on a virtio NIC
// driven by OVMF's own driver (no iPXE ROM). The firmware follows no
// redirect and sizes its buffer (for the ISO, a RAM disk) from the first
// answer, so this is the test of 200 and a constant size. After an edit and
// a reset, the same URL boots the new generation.
func TestFirmwareHTTPBoot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		secure     bool
	}{
		{"image.iso", "image.iso", false},
		{"image.iso Secure Boot", "image.iso", true},
		{"uki.efi", "uki.efi", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, "http boot "+tc.name)
			s := startServe(t, fx, testenv.ArgWait)
			start := time.Now()
			vm := testenv.StartVM(t, testenv.VMOptions{
				OVMF:        true,
				SecureBoot:  tc.secure,
				HTTPBootURI: "http://10.0.2.2:" + s.port() + "/" + tc.file,
				MemoryMB:    1024,
				Args: []string{
					"-netdev", "user,id=net0,ipv6=off",
					"-device", "virtio-net-pci,netdev=net0,romfile=",
					// No PXE attempts before HTTP Boot.
					"-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n",
					"-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n",
				},
			})
			// OVMF's HTTP client under TCG downloads a few MB/s (the
			// whole file, zeros included, before it boots): more time
			// than a CD boot.
			if _, err := vm.WaitForLine(markerLine(fx.marker), httpBootTimeout); err != nil {
				t.Fatal(err)
			}
			t.Logf("marker %q after %v", fx.marker, time.Since(start).Round(time.Millisecond))
			first := s.status(t)
			if g := httpBootClient(t, s, tc.file); g != first.Generation {
				t.Errorf("the fleet page has no client that fetched /%s for generation %d (%d)", tc.file, first.Generation, g)
			}
			if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestWaiting+"$"), time.Minute); err != nil {
				t.Fatal(err)
			}
			marker := "http boot " + tc.name + " after the edit"
			writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte(marker+"\n"))
			st := s.waitNext(t, first.Generation)
			t.Logf("generation %d ready; resetting the guest", st.Generation)
			if err := vm.SystemReset(); err != nil {
				t.Fatal(err)
			}
			if _, err := vm.WaitForLine(markerLine(marker), httpBootTimeout); err != nil {
				t.Fatalf("after the reset: %v", err)
			}
			if g := httpBootClient(t, s, tc.file); g != st.Generation {
				t.Errorf("after the reset the fleet page's client of /%s is at generation %d, want %d", tc.file, g, st.Generation)
			}
		})
	}
}

const httpBootTimeout = 2 * bootTimeout

// httpBootClient is the generation the fleet page says the client that
// fetched /file last booted (0: none).
func httpBootClient(t *testing.T, s *liveServe, file string) uint64 {
	t.Helper()
	var v struct {
		Clients []struct {
			Via        string `json:"via"`
			Generation uint64 `json:"generation"`
		} `json:"clients"`
	}
	resp, err := http.Get(s.url + "fleet.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(fmt.Errorf("fleet.json: %w", err))
	}
	for _, c := range v.Clients {
		if c.Via == file {
			return c.Generation
		}
	}
	return 0
}
