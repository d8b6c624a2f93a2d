package httpserve

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/liveiso/liveiso/live"
)

// script makes an iPXE script for generation g, its URLs under base
// ("http://HOST").
type script func(s *Server, base string, g *live.Snapshot) string

// bootScript boots the kernel and initrd of one generation over HTTP, with
// the image's kernel command line. The URLs name the generation, so the
// kernel and the initrd are of the same one however many generations pass
// while iPXE fetches them.
//
// When the generation has a UKI, the same script chains it on UEFI: one
// URL, chain http://HOST/boot.ipxe, does the right thing on either
// firmware, where a separate uki.ipxe would make the user (or the DHCP
// server) tell the firmwares apart. The kernel, initrd and boot lines are
// exactly those of a generation without a UKI, and on UEFI the iseq line
// jumps past them. Without a UKI, UEFI iPXE boots the kernel and initrd as
// BIOS does (the bzImage has an EFI stub).
func bootScript(s *Server, base string, g *live.Snapshot) string {
	cmdline := "initrd=initrd.img" // the initrd as iPXE names it: its URL's last segment
	if a := strings.TrimSpace(s.opts.Append); a != "" {
		cmdline += " " + a
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!ipxe\n# liveiso generation %d\n", g.Generation)
	if g.UKI != nil {
		b.WriteString("iseq ${platform} efi && goto uefi ||\n")
	}
	fmt.Fprintf(&b, "kernel %s%s %s\ninitrd %s%s\nboot\n",
		base, s.genPath(g.Generation, "vmlinuz"), cmdline, base, s.genPath(g.Generation, "initrd.img"))
	if g.UKI != nil {
		// iPXE hands a chained EFI program its name and arguments as load
		// options, and systemd-stub without Secure Boot takes those over
		// its .cmdline: so the line repeats the UKI's command line (its
		// initrd is its own section, so no initrd=).
		fmt.Fprintf(&b, ":uefi\nchain %s%s", base, s.genPath(g.Generation, "uki.efi"))
		if a := strings.Fields(s.opts.Append); len(a) > 0 {
			b.WriteString(" " + strings.Join(a, " "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// sanbootScript boots the CD image of one generation as an HTTP SAN disk
// (iPXE reads it with Range requests, as a BIOS reads a CD).
func sanbootScript(s *Server, base string, g *live.Snapshot) string {
	return fmt.Sprintf("#!ipxe\n# liveiso generation %d\nsanboot %s%s\n", g.Generation, base, s.genPath(g.Generation, "image.iso"))
}

// serveScript answers /boot.ipxe and /sanboot.ipxe for the current
// generation. They change with every generation, so no cache keeps them.
func (s *Server) serveScript(w http.ResponseWriter, r *http.Request, write script) {
	g := s.gens.Current()
	if g == nil {
		noGeneration(w)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	body := write(s, s.base(r), g)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	fmt.Fprint(w, body)
}

// base is "http://HOST" with the Host the client asked for, so that the
// script's URLs work through a proxy or a forwarded port; a Host that is not
// a plain host name or address (and port) is replaced by the listen address.
func (s *Server) base(r *http.Request) string {
	host := r.Host
	if !validHost(host) {
		host = s.opts.Addr
		if s.ln != nil {
			host = s.ln.Addr().String()
		}
	}
	return "http://" + host
}

// validHost accepts host names, IPv4 and bracketed IPv6 addresses, with a
// port: nothing that could end the URL or the script's line.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.ContainsRune(".-:[]", c):
		default:
			return false
		}
	}
	return true
}
