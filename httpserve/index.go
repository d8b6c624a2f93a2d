package httpserve

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"

	"github.com/liveiso/liveiso/live"
)

// indexPage is the page at /, for people.
var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>liveiso</title></head>
<body>
<h1>liveiso</h1>
{{if .Gen}}<p>Generation {{.Gen.Generation}}, {{.State}}{{if .Error}}: {{.Error}}{{end}}.</p>
<ul>
<li><a href="{{.Image}}">image.iso</a> ({{.Gen.ImageSize}} bytes)</li>
<li><a href="{{.Kernel}}">vmlinuz</a> ({{.Gen.KernelSize}} bytes)</li>
<li><a href="{{.Initrd}}">initrd.img</a> ({{.Gen.InitrdSize}} bytes)</li>
{{if .UKI}}<li><a href="{{.UKI}}">uki.efi</a> ({{.Gen.UKISize}} bytes)</li>
{{end}}<li><a href="/status.json">status.json</a></li>
</ul>
<p>At an iPXE prompt, boot the kernel and initrd{{if .UKI}} (on UEFI, the unified kernel image){{end}}:</p>
<pre>chain {{.Base}}/boot.ipxe</pre>
<p>or the CD image:</p>
<pre>chain {{.Base}}/sanboot.ipxe</pre>
{{else}}<p>No generation is ready yet ({{.State}}{{if .Error}}: {{.Error}}{{end}}).</p>
{{end}}</body></html>
`))

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	var st struct {
		State string `json:"state"`
		Error string `json:"error"`
	}
	_ = json.Unmarshal(s.status(), &st)
	data := struct {
		Gen                   *live.Snapshot
		State, Error, Base    string
		Image, Kernel, Initrd string
		UKI                   string // "" without one
	}{Gen: s.gens.Current(), State: st.State, Error: st.Error, Base: s.base(r)}
	if data.State == "" {
		data.State = "state unknown"
	}
	if g := data.Gen; g != nil {
		data.Image, data.Kernel, data.Initrd = s.genPath(g.Generation, "image.iso"), s.genPath(g.Generation, "vmlinuz"), s.genPath(g.Generation, "initrd.img")
		if g.UKI != nil {
			data.UKI = s.genPath(g.Generation, "uki.efi")
		}
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	if err := indexPage.Execute(w, data); err != nil {
		s.log.Debug("write the index page", "err", err)
	}
}

// serveStatus answers /status.json: the daemon's status, as in the mount.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	b := s.status()
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

func (s *Server) status() []byte {
	if s.opts.Status == nil {
		return []byte("{}\n")
	}
	return s.opts.Status()
}
