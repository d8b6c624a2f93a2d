package integration

import (
	"context"
	"github.com/liveiso/liveiso/internal/testenv"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The fleet page in a real browser (Debian's chromium, headless, driven
// over the DevTools protocol): it loads, shows the current generation and
// no client; a client boots (fetches the iPXE script with its MAC, as iPXE
// does, and a hostile platform name); the page shows the client, as text,
// without a reload. A screenshot goes to the test's artifact directory
// (go test -artifacts keeps it).
func TestFleetPageInBrowser(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "fleet page")
	s := startServe(t, fx, testenv.ArgWait)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("chromium"),
		chromedp.NoSandbox, // the tests run as root
		chromedp.WindowSize(1200, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first Run starts the browser, which lives as long as that
	// call's context: no timeout on it.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url), chromedp.WaitVisible("#summary")); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	text := func(sel string) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		v, err := chromedp.Run(tctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	eval := func(expr string) any {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		v, err := chromedp.Run(tctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	summary, clients := text("#summary"), text("#clients")
	// A marker in the page's own state: a reload would lose it.
	eval(`window.notReloaded = true`)
	if !strings.Contains(summary, "Generation 1,") || strings.TrimSpace(clients) != "" {
		t.Fatalf("the page before any boot: summary %q, clients %q", summary, clients)
	}

	const mac, hostile = "02:00:00:00:00:42", "<img src=x onerror=alert(1)>"
	resp, err := http.Get(s.url + "boot.ipxe?mac=" + mac + "&platform=" + url.QueryEscape(hostile) + "&buildarch=x86_64")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(script), "\nkernel ") {
		t.Fatalf("/boot.ipxe with the client's parameters is no boot script:\n%s", script)
	}

	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(clients, mac) {
		if time.Now().After(deadline) {
			t.Fatalf("the page does not show the client after a minute: clients %q", clients)
		}
		time.Sleep(200 * time.Millisecond)
		clients = text("#clients")
	}
	if eval(`window.notReloaded === true`) != true {
		t.Errorf("the page was reloaded")
	}
	if imgs := eval(`document.querySelectorAll("#clients img").length`); !strings.Contains(clients, hostile) || imgs != float64(0) {
		t.Errorf("the client's platform is not shown as text: clients %q, %v img elements", clients, imgs)
	}
	if !strings.Contains(clients, "x86_64") || !strings.Contains(clients, "boot.ipxe") {
		t.Errorf("the client row lacks its arch or script: %q", clients)
	}
	sctx, scancel := context.WithTimeout(ctx, time.Minute)
	defer scancel()
	shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.ArtifactDir(), "fleet-page.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
