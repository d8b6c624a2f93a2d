package httpserve

import (
	"fmt"
	"html/template"
	"time"
)

// indexPage is the fleet page at /, for people: what is served, and which
// machine booted what. It is rendered here (html/template escapes every
// client-supplied field) and then updates itself: its inline script polls
// fleetPath and rebuilds the same elements with textContent, never with
// markup, so a client's fields stay text there too.
var indexPage = template.Must(template.New("index").Funcs(template.FuncMap{"ago": ago}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>liveiso fleet</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; }
th { background: #eee; }
td.num { text-align: right; }
tr.old td { color: #a33; }
code, pre { background: #f4f4f4; padding: 0.1em 0.3em; }
</style></head>
<body>
<h1>liveiso</h1>
<p id="summary">{{with .Current}}Generation <b>{{.Number}}</b>, published {{ago $.Now .Published}}, built in {{.BuildMs}} ms, {{.ChunksRebuilt}} of {{.Chunks}} chunks rebuilt.{{else}}No generation is ready yet.{{end}}
State: <span id="state">{{.State}}</span>{{if .BuildsFailed}}; <span id="failed">{{.BuildsFailed}}</span> builds failed (see the log or status.json){{end}}.</p>

<h2>Generations kept</h2>
<table><thead><tr><th>generation</th><th>published</th><th>build ms</th><th>chunks rebuilt</th><th>image bytes</th><th>initrd bytes</th></tr></thead>
<tbody id="kept">{{range .Kept}}<tr><td class="num">{{.Number}}</td><td>{{ago $.Now .Published}}</td><td class="num">{{.BuildMs}}</td><td class="num">{{.ChunksRebuilt}} / {{.Chunks}}</td><td class="num">{{.ImageBytes}}</td><td class="num">{{.InitrdBytes}}</td></tr>
{{end}}</tbody></table>

<h2>Clients</h2>
<table><thead><tr><th>address</th><th>MAC</th><th>platform</th><th>arch</th><th>fetched</th><th>generation</th><th>when</th></tr></thead>
<tbody id="clients">{{range .Clients}}<tr{{if $.Current}}{{if ne .Generation $.Current.Number}} class="old"{{end}}{{end}}><td>{{.Addr}}</td><td>{{.MAC}}</td><td>{{.Platform}}</td><td>{{.Arch}}</td><td>{{.Via}}</td><td class="num">{{.Generation}}</td><td>{{ago $.Now .Seen}}</td></tr>
{{end}}</tbody></table>

<h2>Boot</h2>
<p>iPXE (kernel and initrd chunks; add <code>?whole=1</code> for one initrd.img, or the UKI on UEFI): <code>chain {{.Base}}/boot.ipxe</code>;
the CD image as a SAN disk: <code>chain {{.Base}}/sanboot.ipxe</code>.</p>
<p>UEFI HTTP Boot (DHCP option 67 or a boot entry): <code>{{.Base}}/image.iso</code>{{if .HasUKI}} or <code>{{.Base}}/uki.efi</code>{{end}}.</p>
<p>{{if .Image}}This generation: <a href="{{.Image}}">image.iso</a>, <a href="{{.Kernel}}">vmlinuz</a>. {{end}}<a href="/status.json">status.json</a>, <a href="/metrics">metrics</a>.</p>

<script>
"use strict";
(function () {
  function ago(now, t) {
    var s = Math.max(0, Math.round((Date.parse(now) - Date.parse(t)) / 1000));
    if (s < 120) return s + " s ago";
    if (s < 7200) return Math.round(s / 60) + " min ago";
    return Math.round(s / 3600) + " h ago";
  }
  function row(cells, cls) {
    var tr = document.createElement("tr");
    if (cls) tr.className = cls;
    cells.forEach(function (c) {
      var td = document.createElement("td");
      td.textContent = String(c[0]);
      if (c[1]) td.className = "num";
      tr.appendChild(td);
    });
    return tr;
  }
  function render(v) {
    var cur = v.current;
    var sum = document.getElementById("summary");
    sum.textContent = "";
    if (cur) {
      sum.append("Generation ");
      var b = document.createElement("b");
      b.textContent = String(cur.number);
      sum.append(b, ", published " + ago(v.now, cur.published) + ", built in " + cur.build_ms + " ms, " +
        cur.chunks_rebuilt + " of " + cur.chunks + " chunks rebuilt. ");
    } else {
      sum.append("No generation is ready yet. ");
    }
    var st = document.createElement("span");
    st.id = "state";
    st.textContent = v.state;
    sum.append("State: ", st, v.builds_failed ? "; " + v.builds_failed + " builds failed (see the log or status.json)." : ".");
    var kept = document.getElementById("kept");
    kept.replaceChildren.apply(kept, v.kept.map(function (g) {
      return row([[g.number, 1], [ago(v.now, g.published)], [g.build_ms, 1], [g.chunks_rebuilt + " / " + g.chunks, 1],
        [g.image_bytes, 1], [g.initrd_bytes, 1]]);
    }));
    var clients = document.getElementById("clients");
    clients.replaceChildren.apply(clients, v.clients.map(function (c) {
      return row([[c.addr], [c.mac || ""], [c.platform || ""], [c.arch || ""], [c.via], [c.generation, 1], [ago(v.now, c.seen)]],
        cur && c.generation !== cur.number ? "old" : "");
    }));
  }
  function poll() {
    fetch({{.FleetPath}}, {cache: "no-store"}).then(function (r) { return r.json(); }).then(render)
      .catch(function () {}).finally(function () { setTimeout(poll, {{.PollMs}}); });
  }
  setTimeout(poll, {{.PollMs}});
})();
</script>
</body></html>
`))

// ago says how long before now t was, for people.
func ago(now, t time.Time) string {
	s := now.Sub(t).Round(time.Second)
	switch {
	case s < 0:
		s = 0
		fallthrough
	case s < 2*time.Minute:
		return fmt.Sprintf("%d s ago", int(s.Seconds()))
	case s < 2*time.Hour:
		return fmt.Sprintf("%d min ago", int(s.Round(time.Minute).Minutes()))
	}
	return fmt.Sprintf("%d h ago", int(s.Round(time.Hour).Hours()))
}
