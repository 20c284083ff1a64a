package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// pageJS reads what a page shows a person: the main table (the value
// behind a cell that names it otherwise), the headline cards, whether it
// is wider than the window, the Latin words of its own text (outside what
// is marked as data, the English language link and the charts' drawing),
// and the charts drawn.
const pageJS = `(() => {
  const t = document.querySelector('#data');
  const words = new Set();
  const skip = el => !el || el.closest('[translate=no],[lang=en],script,style,title,.plot');
  const add = s => (s.match(/[A-Za-z][A-Za-z_]*/g) || []).forEach(x => words.add(x));
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) {
    const n = w.currentNode;
    if (!skip(n.parentElement) && n.parentElement.getClientRects().length) add(n.textContent);
  }
  document.querySelectorAll('[placeholder],[aria-label],[title]').forEach(el => {
    if (!skip(el)) ['placeholder', 'aria-label', 'title'].forEach(a => el.hasAttribute(a) && add(el.getAttribute(a)));
  });
  const wide = [...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 3).map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right));
  return {
    names: t ? [...t.tHead.rows[0].cells].map(c => c.dataset.name) : [],
    rows: t ? [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.dataset.raw !== undefined ? c.dataset.raw : c.innerText)) : [],
    cards: [...document.querySelectorAll('#cards .card')].map(c => ({col: c.dataset.col, text: c.querySelector('.card-value').innerText})),
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    innerWidth: window.innerWidth,
    wide: wide,
    words: [...words],
    figures: document.querySelectorAll('figure.chart').length,
    drawn: document.querySelectorAll('figure.chart .plot svg').length,
    empty: !!document.querySelector('#empty'),
  };
})()`

type shownPage struct {
	Names []string   `json:"names"`
	Rows  [][]string `json:"rows"`
	Cards []struct {
		Col  string `json:"col"`
		Text string `json:"text"`
	} `json:"cards"`
	ScrollWidth int      `json:"scrollWidth"`
	InnerWidth  int      `json:"innerWidth"`
	Wide        []string `json:"wide"`
	Words       []string `json:"words"`
	Figures     int      `json:"figures"`
	Drawn       int      `json:"drawn"`
	Empty       bool     `json:"empty"`
}

// funnelJS measures the funnel as ECharts drew it: each step's bar width
// and the users it stands for.
const funnelJS = `(() => {
  const plot = document.querySelector('figure[data-kind=funnel] .plot');
  const chart = plot && echarts.getInstanceByDom(plot);
  if (!chart) return [];
  const data = chart.getModel().getSeriesByIndex(0).getData();
  const users = chart.getOption().series[0].data;
  const out = [];
  for (let i = 0; i < data.count(); i++) out.push({width: data.getItemLayout(i).width, users: users[i]});
  return out;
})()`

type funnelBar struct {
	Width float64 `json:"width"`
	Users float64 `json:"users"`
}

// TestBrowser drives the dashboard over the demo in headless Chromium as a
// person would: logs in; opens every page (every analysis, each kind of
// detail page) in both languages at 1400 and 390 px and checks that none
// is wider than the window, that the Chinese ones show no English word of
// their own, that the table and the headline cards show the JSON API's
// figures and that every chart is drawn; measures the funnel's bars
// against its users; follows the CSV link, the language and app switchers
// and the range form; logs out. Screenshots of every page go to
// /screenshots/; SHUYUAN_DOCS_SCREENSHOT=1 also rewrites the README's.
func TestBrowser(t *testing.T) {
	t.Parallel()
	tab := browser(t)
	e := newEnv(t)
	start := time.Now()
	users := 120 // enough for every page to have figures, small enough to be quick
	if os.Getenv("SHUYUAN_DOCS_SCREENSHOT") != "" {
		users = 1500 // the README's pictures show a shop's volumes
	}
	stats := e.fillDemo(t, users)
	t.Logf("demo: %d events, %d users, %d SDK orders, backend %+v (%.1f s)", stats.Accepted, stats.Users, stats.Orders, stats.Backend, time.Since(start).Seconds())
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

	rng := "from=2026-03-04&to=2026-03-10"
	// detail pages are checked in Chinese at 1400 px and in English at
	// 390 px; the analyses' pages in both languages at both widths.
	type target struct {
		name, page, api string
		detail          bool
	}
	var targets []target
	for _, a := range analysis.All() {
		targets = append(targets, target{a.Name, "/apps/demo/" + a.Name + "?" + rng, "/api/v1/apps/demo/analysis/" + a.Name + "?" + rng, false})
	}
	targets = append(targets, target{"funnel-by-guide", "/apps/demo/funnel?by=guide_id&" + rng, "/api/v1/apps/demo/analysis/funnel?by=guide_id&" + rng, false})
	apis := map[string]apiResult{}
	for _, tg := range targets {
		apis[tg.page] = e.apiJSON(t, tg.api)
	}
	// A detail page of each kind, for a key the API lists.
	for name, key := range map[string]string{"guides": "guide_id", "live": "room_id", "stores": "store_id", "ads": "ad_id", "skus": "sku_id"} {
		res := apis["/apps/demo/"+name+"?"+rng]
		k := slices.IndexFunc(res.Columns, func(c struct {
			Name string `json:"name"`
			Type string `json:"type"`
		}) bool {
			return c.Name == key
		})
		for _, row := range res.Rows {
			if id, ok := row[k].(string); ok && id != "" {
				targets = append(targets, target{name + "-detail", "/apps/demo/" + name + "/detail?" + url.Values{"id": {id}}.Encode() + "&" + rng, "", true})
				break
			}
		}
	}
	targets = append(targets, target{"article-detail", "/apps/demo/official-account/detail?id=mp-article-12375&" + rng, "", true})
	totals := e.apiJSON(t, "/api/v1/apps/demo/analysis/totals?"+rng)

	pages := 0
	checkStart := time.Now()
	for _, lang := range []string{"zh", "en"} {
		run("switch to "+lang, chromedp.Navigate(e.srv.URL+"/apps/demo/overview?lang="+lang))
		for _, width := range []int64{1400, 390} {
			run("viewport", chromedp.EmulateViewport(width, 900))
			for _, tg := range targets {
				if tg.detail && (lang == "zh") != (width == 1400) {
					continue
				}
				what := fmt.Sprintf("%s (%s, %d px)", tg.name, lang, width)
				run("open "+what, chromedp.Navigate(e.srv.URL+tg.page), chromedp.WaitReady(`body[data-charts]`))
				pages++
				shown, err := chromedp.Run(tab, chromedp.Evaluate[shownPage](pageJS))
				if err != nil {
					t.Fatalf("%s: read the page: %v", what, err)
				}
				if shown.ScrollWidth > shown.InnerWidth {
					t.Errorf("%s: %d px wide in a %d px window; too wide: %v", what, shown.ScrollWidth, shown.InnerWidth, shown.Wide)
				}
				if lang == "zh" {
					var english []string
					for _, w := range shown.Words {
						if !allowedLatin[w] {
							english = append(english, w)
						}
					}
					if len(english) > 0 {
						t.Errorf("%s shows English words: %v", what, english)
					}
				}
				if shown.Drawn != shown.Figures {
					t.Errorf("%s: %d of %d charts drawn", what, shown.Drawn, shown.Figures)
				}
				if res, ok := apis[tg.page]; ok {
					if len(res.Rows) == 0 {
						t.Errorf("%s: the demo gives this page no figures", what)
					}
					for i, c := range res.Columns {
						if i >= len(shown.Names) || shown.Names[i] != c.Name {
							t.Errorf("%s: columns shown %v, API %v", what, shown.Names, res.Columns)
							break
						}
					}
					checkFigures(t, what, res, shown.Rows)
				} else if len(shown.Rows) == 0 {
					t.Errorf("%s: no daily figures", what)
				}
				if tg.name == "overview" {
					if len(shown.Cards) != 7 {
						t.Errorf("%s: %d headline cards", what, len(shown.Cards))
					}
					for _, c := range shown.Cards {
						i := slices.IndexFunc(totals.Columns, func(col struct {
							Name string `json:"name"`
							Type string `json:"type"`
						}) bool {
							return col.Name == c.Col
						})
						if i < 0 {
							t.Errorf("%s: card %s is no column of the totals", what, c.Col)
							continue
						}
						if err := sameFigure(totals.Columns[i].Type, c.Text, totals.Rows[0][i]); err != nil {
							t.Errorf("%s: card %s shows %q, API %v: %v", what, c.Col, c.Text, totals.Rows[0][i], err)
						}
					}
				}
				if tg.name == "funnel" {
					checkFunnelBars(t, what, tab, apis[tg.page])
				}
				if width == 1400 && lang == "zh" || tg.name == "overview" || tg.name == "funnel" {
					screenshot(t, tab, filepath.Join(shots, fmt.Sprintf("%s-%s-%d.png", tg.name, lang, width)))
				}
				if os.Getenv("SHUYUAN_DOCS_SCREENSHOT") != "" && lang == "zh" && width == 1400 && (tg.name == "overview" || tg.name == "funnel") {
					// The README's pictures, the first screen only:
					// SHUYUAN_DOCS_SCREENSHOT=1 go test ./internal/web -run TestBrowser
					png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshot-"+tg.name+".png"), png, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	t.Logf("checked %d pages in %.1f s", pages, time.Since(checkStart).Seconds())
	// The tooltips escape the merchant's names with ECharts' own helper.
	if ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](`echarts.format.encodeHTML('<b>') === '&lt;b&gt;'`)); err != nil || !ok {
		t.Errorf("echarts.format.encodeHTML is missing from the vendored build: %v", err)
	}
	run("back to Chinese at 1280 px", chromedp.Navigate(e.srv.URL+"/apps/demo/overview?lang=zh"), chromedp.EmulateViewport(1280, 900))

	// The CSV link downloads, with the session, the page's CSV. The
	// page's policy forbids scripts to fetch; the test lifts it to follow
	// the link from inside the page, with the browser's cookies.
	page := "/apps/demo/events?" + rng
	bypassCSP := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.SetBypassCSP, cdppage.SetBypassCSPParams{Enabled: true})
		return err
	})
	run("open events", bypassCSP, chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("csv")))
	csv, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(document.querySelector('#csv').href).then(r => r.ok ? r.text() : 'HTTP ' + r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch CSV: %v", err)
	}
	direct := do(t, http.DefaultClient, "GET", e.srv.URL+"/apps/demo/events.csv?"+rng, nil,
		map[string]string{"Authorization": "Bearer " + adminKey, "Accept-Language": "zh-CN"})
	if want := strings.TrimPrefix(direct.body, "\ufeff"); csv != want || !strings.HasPrefix(csv, "日期,行为,") {
		t.Errorf("CSV from the page's link differs:\n%.300s\n---\n%.300s", csv, want)
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
		t.Errorf("Chinese: users header %q", h)
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

	// The app switcher keeps the analysis and the range.
	run("open the app switcher", chromedp.Click(chromedp.CSS(`#apps summary`)))
	if _, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(`#apps a[href^="/apps/empty/"]`))); err != nil {
		t.Fatalf("switch app: %v", err)
	}
	if loc := location(); loc != "/apps/empty/events?"+rng {
		t.Errorf("app switcher went to %s", loc)
	}
	run("empty app", chromedp.WaitVisible(chromedp.ID("empty")))

	// A new range through the form, and a preset.
	run("back to demo", chromedp.Navigate(e.srv.URL+page), chromedp.WaitVisible(chromedp.ID("from")))
	if err := chromedp.Do(tab, chromedp.SetValue(chromedp.ID("from"), "2026-03-09"), chromedp.SetValue(chromedp.ID("to"), "2026-03-10")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(tab, chromedp.Submit(chromedp.ID("from"))); err != nil {
		t.Fatalf("submit range: %v", err)
	}
	if loc := location(); loc != "/apps/demo/events?from=2026-03-09&to=2026-03-10" {
		t.Errorf("range form went to %s", loc)
	}
	shown, err := chromedp.Run(tab, chromedp.Evaluate[shownPage](pageJS))
	if err != nil {
		t.Fatal(err)
	}
	checkFigures(t, "events 03-09…03-10", e.apiJSON(t, "/api/v1/apps/demo/analysis/events?from=2026-03-09&to=2026-03-10"), shown.Rows)
	if _, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(`nav.presets a:nth-child(2)`))); err != nil {
		t.Fatalf("preset: %v", err)
	}
	if loc := location(); loc != "/apps/demo/events?from=2026-03-09&to=2026-03-09" {
		t.Errorf("the preset 'yesterday' went to %s", loc)
	}

	// A click on a header sorts the table by it, largest first.
	run("sort by events", chromedp.Navigate(e.srv.URL+page), chromedp.WaitReady(`body[data-charts]`), chromedp.Click(chromedp.CSS(`th[data-name="events"]`)))
	order, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](`[...document.querySelectorAll('#data tbody td[data-col=events]')].map(td => +td.dataset.v)`))
	if err != nil || len(order) < 2 || !slices.IsSortedFunc(order, func(a, b float64) int { return cmpFloat(b, a) }) {
		t.Errorf("sorted by events: %v (%v)", order, err)
	}

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

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkFunnelBars wants the funnel's bars as wide as its users say: each
// step's width over the first's equals its users over the first's, and the
// users are the API's.
func checkFunnelBars(t *testing.T, what string, tab context.Context, res apiResult) {
	t.Helper()
	bars, err := chromedp.Run(tab, chromedp.Evaluate[[]funnelBar](funnelJS))
	if err != nil {
		t.Fatalf("%s: measure the funnel: %v", what, err)
	}
	users := slices.IndexFunc(res.Columns, func(c struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}) bool {
		return c.Name == "users"
	})
	if len(bars) != len(res.Rows) || len(bars) < 2 {
		t.Fatalf("%s: %d bars for %d steps", what, len(bars), len(res.Rows))
	}
	for i, b := range bars {
		api, _ := res.Rows[i][users].(json.Number).Float64()
		if b.Users != api {
			t.Errorf("%s: step %d drawn for %v users, API %v", what, i+1, b.Users, api)
		}
		want := bars[0].Width * b.Users / bars[0].Users
		if math.Abs(b.Width-want) > 1 {
			t.Errorf("%s: step %d is %.1f px wide for %v users; %.1f px for the first step's %v means %.1f px", what, i+1, b.Width, b.Users, bars[0].Width, bars[0].Users, want)
		}
	}
	if bars[0].Width < 100 {
		t.Errorf("%s: the first step is only %.1f px wide", what, bars[0].Width)
	}
}
