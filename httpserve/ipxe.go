package httpserve

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liveiso/liveiso/live"
)

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
	guard, wrongArch := archGuard(g)
	b.WriteString(guard)
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
	b.WriteString(wrongArch)
	return b.String()
}

// arm64Arch is live.Status.Arch of an arm64 kernel.
const arm64Arch = "arm64"

// archGuard returns the lines a script of generation g starts and ends
// with so that an iPXE of another architecture says why it stops: an x86
// iPXE would fetch an arm64 kernel and fail in its loader. ${buildarch} is
// arm64 in iPXE built for ARM64. Both are empty for an x86-64 generation.
func archGuard(g *live.Snapshot) (head, tail string) {
	if g.Status.Arch != arm64Arch {
		return "", ""
	}
	return "iseq ${buildarch} arm64 || goto wrongarch\n",
		":wrongarch\necho liveiso: the kernel is for arm64, this iPXE for ${buildarch}\nexit 1\n"
}

// sanbootScript boots the CD image of one generation as an HTTP SAN disk
// (iPXE reads it with Range requests, as a BIOS reads a CD).
func sanbootScript(s *Server, base string, g *live.Snapshot) string {
	return fmt.Sprintf("#!ipxe\n# liveiso generation %d\nsanboot %s%s\n", g.Generation, base, s.genPath(g.Generation, "image.iso"))
}

// chunkScript boots the kernel of one generation (from its content
// address, when it has one) and its initrd as the
// chunks it is made of, one initrd line each, from their content-addressed
// URLs (see chunks.go): a cache in front keeps each chunk once, and after
// an edit fetches only the chunks that changed. iPXE loads the initrds in
// the order of the lines, each at a page boundary with zeros up to the next
// (bzimage.c, bzimage_load_initrd; the EFI initrd of newer iPXE does the
// same), which the kernel's unpacker reads as one initramfs (see
// cache.Part). UEFI iPXE of before 2021 has no such initrd: the kernel's
// EFI stub loads the files named by initrd= on the command line, one after
// another with no padding, which reads the same, since every initrd has
// one compression (so no uncompressed part follows a compressed one at an
// unaligned offset). Hence each initrd gets a short --name, and the
// command line names them all.
func chunkScript(s *Server, base string, g *live.Snapshot, keys []string, kernelKey string) string {
	var cmdline, initrds strings.Builder
	for i, k := range keys {
		fmt.Fprintf(&cmdline, "initrd=c%d ", i)
		fmt.Fprintf(&initrds, "initrd --name c%d %s%s%s\n", i, base, chunkPrefix, k)
	}
	cmd := strings.TrimSpace(cmdline.String() + strings.Join(strings.Fields(s.opts.Append), " "))
	kernel := s.genPath(g.Generation, "vmlinuz")
	if kernelKey != "" {
		kernel = chunkPrefix + kernelKey
	}
	guard, wrongArch := archGuard(g)
	return fmt.Sprintf("#!ipxe\n# liveiso generation %d, %d chunks\n%skernel %s%s %s\n%sboot\n%s",
		g.Generation, len(keys), guard, base, kernel, cmd, initrds.String(), wrongArch)
}

// identifyScript is the answer to a script's URL without the client's
// parameters: it chains the same URL with them, so that the fleet page
// knows the machine by its MAC address, platform and architecture. iPXE
// expands the settings in the line; the script that comes back is the real
// one.
func identifyScript(base, path string, r *http.Request) string {
	q := "?" + paramMAC + "=${net0/mac}&" + paramPlatform + "=${platform}&" + paramArch + "=${buildarch}"
	if r.URL.Query().Get("whole") == "1" {
		q += "&whole=1"
	}
	return "#!ipxe\nchain " + base + path + q + "\n"
}

// serveScript answers /boot.ipxe and /sanboot.ipxe for the current
// generation. They change with every generation, so no cache keeps them.
// /boot.ipxe boots the chunks (chunkScript) unless asked for the whole
// initrd (?whole=1: bootScript, which also chains the UKI on UEFI) or
// the generation has no chunks.
func (s *Server) serveScript(w http.ResponseWriter, r *http.Request, path string) {
	g := s.gens.Current()
	if g == nil {
		noGeneration(w)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	base := s.base(r)
	var body string
	q := r.URL.Query()
	identify := !q.Has(paramMAC) && !q.Has(paramPlatform) && !q.Has(paramArch)
	keys, kernelKey, indexed := s.chunks.keysOf(g.Generation)
	switch {
	case identify:
		body = identifyScript(base, path, r)
	case path == sanbootPath:
		body = sanbootScript(s, base, g)
	case q.Get("whole") == "1" || !indexed || len(keys) == 0:
		body = bootScript(s, base, g)
	default:
		body = chunkScript(s, base, g, keys, kernelKey)
	}
	if !identify && r.Method == http.MethodGet {
		tagGeneration(w, g.Generation)
		c := clientOf(r, strings.TrimPrefix(path, "/"), g.Generation, time.Now())
		s.fleet.saw(c)
		s.log.Info("client boots a generation", "client", c.Addr, "mac", c.MAC, "platform", c.Platform,
			"buildarch", c.Arch, "generation", g.Generation, "script", c.Via)
	}
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
