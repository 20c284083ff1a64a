package web_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
)

// chromium finds Debian's chromium (what .ci/run installs).
func chromium() string {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts headless Chromium with a fresh profile and returns a tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed: CI must install Debian's chromium package for the dashboard's browser test")
		}
		t.Skip("SKIPPED: the dashboard's browser test needs Chromium (apt-get install chromium); CI runs it")
	}
	// Not t.TempDir: Chromium's helpers may still write to the profile for a
	// moment after the browser exits, and TempDir's cleanup would then fail
	// the test.
	profile, err := os.MkdirTemp("", "shuyuan-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox, // root in a container has no user namespace sandbox
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("accept-lang", "zh-CN,zh"), // a Chinese merchant's browser
	)
	// A bound for a hung browser, not a measure of speed.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start chromium %s: %v", bin, err)
	}
	// A script error on any page fails the test.
	if err := chromedp.Listen(tab, func(ev any) {
		if ex, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			d := ex.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			t.Errorf("script error at %s:%d: %s", d.URL, d.LineNumber, msg)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return tab
}

// screenshotDir is the git-ignored /screenshots/ of the repository.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, tab context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tableJS reads the table of a page as a person sees it: the rendered
// text of every cell, and the column names behind the headers.
const tableJS = `(() => {
  const t = document.querySelector('#data');
  if (!t) return {names: [], rows: []};
  return {
    names: [...t.tHead.rows[0].cells].map(c => c.dataset.name),
    rows: [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.dataset.raw !== undefined ? c.dataset.raw : c.innerText)),
  };
})()`

type shownTable struct {
	Names []string   `json:"names"`
	Rows  [][]string `json:"rows"`
}

// TestBrowser drives the dashboard in headless Chromium as a person would:
// logs in, opens every analysis, compares the figures shown with the JSON
// API's, switches the language, downloads a CSV, logs out; and saves a
// screenshot of each page under /screenshots/.
func TestBrowser(t *testing.T) {
	t.Parallel()
	tab := browser(t)
	e := newEnv(t)
	stats := e.fillDemo(t, 250)
	t.Logf("demo traffic: %d events, %d users, %d orders", stats.Accepted, stats.Users, stats.Orders)
	shots := screenshotDir(t)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(tab, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(loc, e.srv.URL)
	}

	// Log in: "/" leads to the login form, which leads to the default page.
	run("open /", chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("password")))
	if loc := location(); loc != "/login" {
		t.Fatalf("/ before login went to %s", loc)
	}
	screenshot(t, tab, filepath.Join(shots, "login.png"))
	if _, err := chromedp.RunResponse(tab,
		chromedp.SendKeys(chromedp.ID("name"), userName),
		chromedp.SendKeys(chromedp.ID("password"), userPassword),
		chromedp.Click(chromedp.ID("submit")),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	if loc := location(); loc != defaultPage() {
		t.Fatalf("after login at %s, want %s", loc, defaultPage())
	}

	for _, a := range analysis.All() {
		page := "/apps/demo/" + a.Name + "?from=2026-03-04&to=2026-03-10"
		run("open "+a.Name, chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("analysis")), chromedp.WaitReady(`body[data-charts]`))
		shown, err := chromedp.Run(tab, chromedp.Evaluate[shownTable](tableJS))
		if err != nil {
			t.Fatalf("%s: read table: %v", a.Name, err)
		}
		res := e.apiJSON(t, "/api/v1/apps/demo/analysis/"+a.Name+"?from=2026-03-04&to=2026-03-10")
		if len(res.Rows) == 0 {
			// Not a failure of the page (some analyses read backend orders
			// or ad reports the demo SDK traffic lacks), but worth knowing.
			t.Logf("NOTE %s: no rows for the demo week; only the empty page is checked", a.Name)
		}
		for i, c := range res.Columns {
			if i >= len(shown.Names) || shown.Names[i] != c.Name {
				t.Errorf("%s: columns shown %v, API %v", a.Name, shown.Names, res.Columns)
				break
			}
		}
		checkFigures(t, a.Name, res, shown.Rows)
		if len(res.Rows) > 0 {
			charts, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('figure.chart .plot svg').length`))
			if err != nil || (charts == 0 && a.Name != "totals") {
				t.Errorf("%s: no chart drawn (%v)", a.Name, err)
			}
		}
		screenshot(t, tab, filepath.Join(shots, a.Name+".png"))
		if a.Name == strings.TrimPrefix(defaultPage(), "/apps/shop/") && os.Getenv("SHUYUAN_DOCS_SCREENSHOT") != "" {
			// The README's picture, the first screen only: regenerate with
			// SHUYUAN_DOCS_SCREENSHOT=1 go test ./internal/web -run TestBrowser.
			png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshot-overview.png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The CSV link downloads, with the session, what the API exports. The
	// page's policy forbids scripts to fetch; the test lifts it to follow
	// the link from inside the page, with the browser's cookies.
	page := "/apps/demo/events?from=2026-03-04&to=2026-03-10"
	bypassCSP := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.SetBypassCSP, cdppage.SetBypassCSPParams{Enabled: true})
		return err
	})
	run("open events", bypassCSP, chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("csv")))
	csv, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(document.querySelector('#csv').href).then(r => r.ok ? r.text() : 'HTTP ' + r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch CSV: %v", err)
	}
	api := do(t, http.DefaultClient, "GET", e.srv.URL+"/api/v1/apps/demo/analysis/events?from=2026-03-04&to=2026-03-10&format=csv", nil,
		map[string]string{"Authorization": "Bearer " + adminKey})
	if csv != api.body {
		t.Errorf("CSV from the page's link differs from the API's:\n%.300s\n---\n%.300s", csv, api.body)
	}

	// Switch to English and back: the labels follow.
	header := func() string {
		t.Helper()
		h, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`th[data-name="users"]`)))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(h)
	}
	if h := header(); h != "用户数" {
		t.Errorf("Chinese browser: users header %q", h)
	}
	if _, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(`nav.lang a[lang="en"]`))); err != nil {
		t.Fatalf("switch to English: %v", err)
	}
	if h := header(); h != "Users" {
		t.Errorf("after switching to English: users header %q", h)
	}
	if loc := location(); loc != page {
		t.Errorf("switching language moved to %s", loc)
	}
	screenshot(t, tab, filepath.Join(shots, "events-en.png"))

	// The app switcher keeps the analysis and the range.
	run("open the app switcher", chromedp.Click(chromedp.CSS(`#apps summary`)))
	if _, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(`#apps a[href^="/apps/empty/"]`))); err != nil {
		t.Fatalf("switch app: %v", err)
	}
	if loc := location(); loc != "/apps/empty/events?from=2026-03-04&to=2026-03-10" {
		t.Errorf("app switcher went to %s", loc)
	}
	run("empty app", chromedp.WaitVisible(chromedp.ID("empty")))

	// A new range through the form.
	run("back to shop", chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("from")))
	if err := chromedp.Do(tab, chromedp.SetValue(chromedp.ID("from"), "2026-03-09"), chromedp.SetValue(chromedp.ID("to"), "2026-03-10")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(tab, chromedp.Submit(chromedp.ID("from"))); err != nil {
		t.Fatalf("submit range: %v", err)
	}
	if loc := location(); loc != "/apps/demo/events?from=2026-03-09&to=2026-03-10" {
		t.Errorf("range form went to %s", loc)
	}
	shown, err := chromedp.Run(tab, chromedp.Evaluate[shownTable](tableJS))
	if err != nil {
		t.Fatal(err)
	}
	checkFigures(t, "events 03-09…03-10", e.apiJSON(t, "/api/v1/apps/demo/analysis/events?from=2026-03-09&to=2026-03-10"), shown.Rows)

	// Log out: pages lead to the login form again.
	if _, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.ID("logout"))); err != nil {
		t.Fatalf("log out: %v", err)
	}
	if loc := location(); loc != "/login" {
		t.Errorf("after logout at %s", loc)
	}
	run("page after logout", chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("password")))
	if loc := location(); !strings.HasPrefix(loc, "/login?next=") {
		t.Errorf("page after logout at %s", loc)
	}
}
