package httpserve

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// script makes an iPXE script for generation g, its URLs under base
// ("http://HOST").
type script func(s *Server, base string, g *Generation) string

// bootScript boots the kernel and initrd of one generation over HTTP, with
// the image's kernel command line. The URLs name the generation, so the
// kernel and the initrd are of the same one however many generations pass
// while iPXE fetches them.
func bootScript(s *Server, base string, g *Generation) string {
	cmdline := "initrd=initrd.img" // the initrd as iPXE names it: its URL's last segment
	if a := strings.TrimSpace(s.opts.Append); a != "" {
		cmdline += " " + a
	}
	return fmt.Sprintf("#!ipxe\n# liveiso generation %d\nkernel %s%s %s\ninitrd %s%s\nboot\n",
		g.Number, base, s.genPath(g.Number, "vmlinuz"), cmdline, base, s.genPath(g.Number, "initrd.img"))
}

// sanbootScript boots the CD image of one generation as an HTTP SAN disk
// (iPXE reads it with Range requests, as a BIOS reads a CD).
func sanbootScript(s *Server, base string, g *Generation) string {
	return fmt.Sprintf("#!ipxe\n# liveiso generation %d\nsanboot %s%s\n", g.Number, base, s.genPath(g.Number, "image.iso"))
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
