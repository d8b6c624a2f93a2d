package httpserve

import (
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxClients bounds the clients the fleet page remembers: when full, the
// one seen longest ago is forgotten, so that a client that makes up MAC
// addresses costs memory for at most this many.
const maxClients = 1024

// Client is one machine as the server saw it. MAC, Platform and Arch are
// what the iPXE script sent (${net0/mac}, ${platform}, ${buildarch});
// empty for a client that fetched without them (firmware HTTP Boot). They
// are client-supplied: the page escapes them, and they are checked for
// their shape here so that what is shown is at least what they claim.
type Client struct {
	Addr       string    `json:"addr"`
	MAC        string    `json:"mac,omitempty"`
	Platform   string    `json:"platform,omitempty"`
	Arch       string    `json:"arch,omitempty"`
	Via        string    `json:"via"`        // what it fetched: boot.ipxe, sanboot.ipxe, image.iso, uki.efi
	Generation uint64    `json:"generation"` // the generation it was last given to boot
	Seen       time.Time `json:"seen"`       // when
}

// fleet is the clients seen, by MAC address when known, else by address.
type fleet struct {
	mu      sync.Mutex
	clients map[string]*Client
}

func (f *fleet) saw(c Client) {
	id := "mac " + c.MAC
	if c.MAC == "" {
		id = "addr " + c.Addr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clients == nil {
		f.clients = make(map[string]*Client)
	}
	if _, ok := f.clients[id]; !ok && len(f.clients) >= maxClients {
		var oldest string
		for k, v := range f.clients {
			if oldest == "" || v.Seen.Before(f.clients[oldest].Seen) {
				oldest = k
			}
		}
		delete(f.clients, oldest)
	}
	f.clients[id] = &c
}

func (f *fleet) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.clients)
}

// list returns the clients, the most recently seen first.
func (f *fleet) list() []Client {
	f.mu.Lock()
	out := make([]Client, 0, len(f.clients))
	for _, c := range f.clients {
		out = append(out, *c)
	}
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b Client) int {
		if c := b.Seen.Compare(a.Seen); c != 0 {
			return c
		}
		return strings.Compare(a.Addr+a.MAC, b.Addr+b.MAC)
	})
	return out
}

// clientParams are the query parameters an iPXE script sends about its
// machine.
const (
	paramMAC      = "mac"
	paramPlatform = "platform"
	paramArch     = "buildarch"
)

// clientOf is the client of r as far as r tells.
func clientOf(r *http.Request, via string, n uint64, now time.Time) Client {
	q := r.URL.Query()
	c := Client{Addr: clientHost(r), Via: via, Generation: n, Seen: now}
	if hw, err := net.ParseMAC(q.Get(paramMAC)); err == nil {
		c.MAC = hw.String()
	}
	c.Platform = word(q.Get(paramPlatform))
	c.Arch = word(q.Get(paramArch))
	return c
}

// word is v if it is short printable ASCII, else "?" (something was
// sent, but not a name). iPXE's ${platform} and ${buildarch} are words
// like "efi" and "x86_64"; anything else is shown as sent, escaped.
func word(v string) string {
	if v == "" {
		return ""
	}
	if len(v) > 32 {
		return "?"
	}
	for _, c := range v {
		if c < 0x20 || c > 0x7e {
			return "?"
		}
	}
	return v
}
