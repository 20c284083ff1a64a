package web_test

import (
	"compress/gzip"
	"encoding/csv"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
)

// defaultPage is where "/" leads once logged in.
func defaultPage() string {
	for _, n := range []string{"overview", "events"} {
		if _, ok := analysis.Get(n); ok {
			return "/apps/shop/" + n
		}
	}
	return "/apps/shop/" + analysis.All()[0].Name
}

func sessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "shuyuan_session" {
			return c
		}
	}
	return nil
}

func TestLoginWithUserPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)

	r := do(t, c, "GET", e.srv.URL+"/", nil, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("/ before login: %d %q", r.status, r.header.Get("Location"))
	}
	r = do(t, c, "GET", e.srv.URL+"/apps/shop/events?from=2026-03-05", nil, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fapps%2Fshop%2Fevents%3Ffrom%3D2026-03-05" {
		t.Fatalf("page before login: %d %q", r.status, r.header.Get("Location"))
	}
	r = do(t, c, "GET", e.srv.URL+"/login?next=%2Fapps%2Fshop%2Fevents", nil, nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `name="next" value="/apps/shop/events"`) || !strings.Contains(r.body, `type="password"`) {
		t.Fatalf("login page: %d\n%s", r.status, r.body)
	}

	r = e.login(t, c, userName, userPassword, "/apps/shop/events?from=2026-03-05")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/apps/shop/events?from=2026-03-05" {
		t.Fatalf("login: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	ck := sessionCookie(t, r)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || len(ck.Value) < 40 || ck.Path != "/" {
		t.Fatalf("session cookie: %+v", ck)
	}
	r = do(t, c, "GET", e.srv.URL+"/", nil, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != defaultPage() {
		t.Fatalf("/ after login: %d %q, want %s", r.status, r.header.Get("Location"), defaultPage())
	}
	r = do(t, c, "GET", e.srv.URL+"/apps/shop/events", nil, nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, ">alice<") {
		t.Fatalf("page after login: %d", r.status)
	}
	// A logged-in visitor of the login page goes on.
	r = do(t, c, "GET", e.srv.URL+"/login?next=/apps/shop/events", nil, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/apps/shop/events" {
		t.Fatalf("login page when logged in: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestLoginWithAdminKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, name := range []string{"", "admin"} {
		c := e.client(t)
		r := e.login(t, c, name, adminKey, "")
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" || sessionCookie(t, r) == nil {
			t.Fatalf("admin login with name %q: %d %q", name, r.status, r.header.Get("Location"))
		}
		r = do(t, c, "GET", e.srv.URL+"/apps/shop/events", nil, nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, ">管理员<") {
			t.Fatalf("page as admin: %d", r.status)
		}
	}
	// API clients may read pages with the bearer key instead of a session.
	r := do(t, http.DefaultClient, "GET", e.srv.URL+"/apps/shop/events.csv", nil, map[string]string{"Authorization": "Bearer " + adminKey})
	if r.status != http.StatusOK {
		t.Fatalf("bearer CSV: %d", r.status)
	}
}

func TestLoginRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct{ name, password string }{
		{userName, "wrong password"},
		{userName, ""},
		{userName, adminKey}, // the admin key is not alice's password
		{"bob", userPassword},
		{"", "admin-key-012345678"},   // a prefix of the key
		{"", "admin-key-01234567890"}, // longer than the key
		{"admin", userPassword},
	}
	for _, tc := range cases {
		e.clock.Add(time.Minute) // past the throttle's longest wait
		c := e.client(t)
		r := e.login(t, c, tc.name, tc.password, "/apps/shop/events")
		if r.status != http.StatusUnauthorized || sessionCookie(t, r) != nil {
			t.Errorf("login %q/%q: %d, cookie %v", tc.name, tc.password, r.status, sessionCookie(t, r))
		}
		if !strings.Contains(r.body, "用户名或密码错误") || !strings.Contains(r.body, `value="/apps/shop/events"`) {
			t.Errorf("login %q/%q: the form must say why and keep next:\n%s", tc.name, tc.password, r.body)
		}
		if r := do(t, c, "GET", e.srv.URL+"/apps/shop/events", nil, nil); r.status != http.StatusSeeOther {
			t.Errorf("login %q/%q: page answered %d without a session", tc.name, tc.password, r.status)
		}
	}
	// A forged session cookie is no session.
	c := e.client(t)
	r := do(t, c, "GET", e.srv.URL+"/apps/shop/events", nil, map[string]string{"Cookie": "shuyuan_session=forged"})
	if r.status != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", r.status)
	}
}

func TestLoginRedirectStaysOnSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", `/\evil.example`, "javascript:alert(1)", ""} {
		r := e.login(t, e.client(t), userName, userPassword, next)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Errorf("next %q: %d %q, want /", next, r.status, r.header.Get("Location"))
		}
	}
}

func TestLoginRejectsCrossOriginPost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	r := do(t, c, "POST", e.srv.URL+"/login", url.Values{"name": {userName}, "password": {userPassword}},
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if r.status != http.StatusForbidden || sessionCookie(t, r) != nil {
		t.Fatalf("cross-site login: %d", r.status)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	r := e.login(t, c, userName, userPassword, "/")
	old := sessionCookie(t, r)
	r = do(t, c, "POST", e.srv.URL+"/logout", url.Values{}, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", r.status, r.header.Get("Location"))
	}
	if ck := sessionCookie(t, r); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("logout must clear the cookie: %+v", ck)
	}
	if r := do(t, c, "GET", e.srv.URL+"/apps/shop/events", nil, nil); r.status != http.StatusSeeOther {
		t.Fatalf("page after logout: %d", r.status)
	}
	// The old id is forgotten by the server, not only by the browser.
	r = do(t, e.client(t), "GET", e.srv.URL+"/apps/shop/events", nil, map[string]string{"Cookie": "shuyuan_session=" + old.Value})
	if r.status != http.StatusSeeOther {
		t.Fatalf("replayed session after logout: %d", r.status)
	}
}

func TestSessionExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // sessions last an hour
	c := e.client(t)
	e.login(t, c, userName, userPassword, "/")
	e.clock.Add(59 * time.Minute)
	if r := do(t, c, "GET", e.srv.URL+"/apps/shop/events", nil, nil); r.status != http.StatusOK {
		t.Fatalf("59 minutes after login: %d", r.status)
	}
	e.clock.Add(time.Minute)
	r := do(t, c, "GET", e.srv.URL+"/apps/shop/events", nil, nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
		t.Fatalf("an hour after login: %d %q", r.status, r.header.Get("Location"))
	}
	// A new login works again.
	e.login(t, c, userName, userPassword, "/")
	if r := do(t, c, "GET", e.srv.URL+"/apps/shop/events", nil, nil); r.status != http.StatusOK {
		t.Fatalf("after logging in again: %d", r.status)
	}
}

var (
	thRe  = regexp.MustCompile(`<th data-name="([^"]*)"[^>]*>([^<]*)</th>`)
	trRe  = regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`)
	tdRe  = regexp.MustCompile(`(?s)<td([^>]*)>(.*?)</td>`)
	rawRe = regexp.MustCompile(`data-raw="([^"]*)"`)
	tagRe = regexp.MustCompile(`<[^>]*>`)
)

// headers returns column name → shown label of a page's table.
func headers(body string) map[string]string {
	m := map[string]string{}
	for _, h := range thRe.FindAllStringSubmatch(body, -1) {
		m[h[1]] = html.UnescapeString(h[2])
	}
	return m
}

// cells reads the body rows of a page's main table: a cell's text, or the
// API's value where the cell names it otherwise (data-raw: a behaviour's
// or a scene's name, "no guide" for none).
func cells(body string) [][]string {
	_, table, ok := strings.Cut(body, `id="data"`)
	if !ok {
		return nil
	}
	_, tbody, ok := strings.Cut(table, "<tbody>")
	if !ok {
		return nil
	}
	tbody, _, _ = strings.Cut(tbody, "</tbody>")
	var rows [][]string
	for _, tr := range trRe.FindAllStringSubmatch(tbody, -1) {
		var row []string
		for _, td := range tdRe.FindAllStringSubmatch(tr[1], -1) {
			if m := rawRe.FindStringSubmatch(td[1]); m != nil {
				row = append(row, html.UnescapeString(m[1]))
				continue
			}
			row = append(row, html.UnescapeString(tagRe.ReplaceAllString(td[2], "")))
		}
		rows = append(rows, row)
	}
	return rows
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	e.login(t, c, userName, userPassword, "/")
	page := e.srv.URL + "/apps/shop/events?from=2026-03-04&to=2026-03-10"

	cases := []struct {
		accept, lang, users, nav string
	}{
		{"en-US,en;q=0.9", "en", "Users", ">Events<"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", "用户数", ">行为事件<"},
		{"fr-FR,en;q=0.5,zh;q=0.8", "zh-CN", "用户数", ">行为事件<"},
		{"de-DE", "zh-CN", "用户数", ">行为事件<"},
		{"", "zh-CN", "用户数", ">行为事件<"},
	}
	for _, tc := range cases {
		r := do(t, c, "GET", page, nil, map[string]string{"Accept-Language": tc.accept})
		if r.status != http.StatusOK {
			t.Fatalf("%q: %d", tc.accept, r.status)
		}
		if !strings.Contains(r.body, `<html lang="`+tc.lang+`">`) || headers(r.body)["users"] != tc.users || !strings.Contains(r.body, tc.nav) {
			t.Errorf("Accept-Language %q: want %s labels, got headers %v", tc.accept, tc.lang, headers(r.body))
		}
	}

	// ?lang= switches, remembers and redirects to the clean URL.
	r := do(t, c, "GET", page+"&lang=en", nil, map[string]string{"Accept-Language": "zh-CN"})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/apps/shop/events?from=2026-03-04&to=2026-03-10" {
		t.Fatalf("?lang=en: %d %q", r.status, r.header.Get("Location"))
	}
	r = do(t, c, "GET", page, nil, map[string]string{"Accept-Language": "zh-CN"})
	if h := headers(r.body); h["users"] != "Users" || h["day"] != "Day" || h["type"] != "Behaviour" {
		t.Errorf("after ?lang=en with a Chinese browser: %v", h)
	}
	do(t, c, "GET", page+"&lang=zh", nil, nil)
	r = do(t, c, "GET", page, nil, map[string]string{"Accept-Language": "en"})
	if h := headers(r.body); h["users"] != "用户数" || h["events"] != "事件数" || h["day"] != "日期" {
		t.Errorf("after ?lang=zh with an English browser: %v", h)
	}
	// The login page switches too.
	r = do(t, e.client(t), "GET", e.srv.URL+"/login?lang=en", nil, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("login ?lang=en: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestEveryAnalysisPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	e.login(t, c, userName, userPassword, "/")
	all := analysis.All()
	if len(all) == 0 {
		t.Fatal("no analysis registered")
	}
	for _, a := range all {
		t.Run(a.Name, func(t *testing.T) {
			// Default range: the last 7 days of the app's zone.
			r := do(t, c, "GET", e.srv.URL+"/apps/shop/"+a.Name, nil, nil)
			if r.status != http.StatusOK {
				t.Fatalf("%d\n%s", r.status, r.body)
			}
			if !strings.Contains(r.body, `name="from" id="from" value="2026-03-04"`) || !strings.Contains(r.body, `name="to" id="to" value="2026-03-10"`) {
				t.Errorf("default range must be 2026-03-04 … 2026-03-10")
			}
			res := e.apiJSON(t, "/api/v1/apps/shop/analysis/"+a.Name+"?from=2026-03-04&to=2026-03-10")
			checkFigures(t, a.Name, res, cells(r.body))
			csv := `href="/apps/shop/` + a.Name + `.csv?from=2026-03-04&amp;to=2026-03-10"`
			if !strings.Contains(r.body, csv) {
				t.Errorf("no CSV link %s", csv)
			}
			for _, other := range all {
				if other.Name == "totals" { // shown as the overview's cards
					continue
				}
				if !strings.Contains(r.body, `href="/apps/shop/`+other.Name+`?from=2026-03-04&amp;to=2026-03-10"`) {
					t.Errorf("nav lacks %s", other.Name)
				}
			}
			if !strings.Contains(r.body, `href="/apps/empty/`+a.Name+`?from=2026-03-04&amp;to=2026-03-10"`) {
				t.Errorf("app switcher lacks the other app")
			}
			if len(res.Rows) > 0 && !strings.Contains(r.body, `id="chart-data"`) && a.Name != "totals" {
				t.Errorf("rows but no chart")
			}
			// An empty result shows "no data" instead of a table.
			for _, col := range res.Columns {
				if len(res.Rows) > 0 && headers(r.body)[col.Name] == "" {
					t.Errorf("no header for column %s", col.Name)
				}
			}
			// The app without data says so.
			r = do(t, c, "GET", e.srv.URL+"/apps/empty/"+a.Name, nil, nil)
			if r.status != http.StatusOK || (!strings.Contains(r.body, `id="empty"`) && !strings.Contains(r.body, `id="data"`)) {
				t.Errorf("empty app: %d", r.status)
			}
		})
	}
}

func TestEventsPageFigures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	e.login(t, c, userName, userPassword, "/")
	r := do(t, c, "GET", e.srv.URL+"/apps/shop/events?from=2026-03-10&to=2026-03-10&lang=en", nil, nil)
	r = do(t, c, "GET", e.srv.URL+r.header.Get("Location"), nil, nil)
	rows := cells(r.body)
	// On 2026-03-10 (day 6 of the fill) users u with (u+6)%3 != 0 came, and
	// only before 15:00 (now): u%12 < 7 and 8+u%12 h + u min < 15 h. Of
	// u = 0…23 that is u in {1,2,4,5,13,14,16,17}: 8 users, each one
	// app_launch.
	found := false
	for _, row := range rows {
		if row[0] == "2026-03-10" && row[1] == "app_launch" {
			found = true
			if row[2] != "behaviour" || row[3] != "8" || row[4] != "8" {
				t.Errorf("app_launch on 2026-03-10: %v, want 8 events by 8 users", row)
			}
		}
	}
	if !found {
		t.Fatalf("no app_launch row on 2026-03-10: %v", rows)
	}
	// Lines per event type, one chart per numeric column, the types by
	// their names.
	if n := strings.Count(r.body, `<figure class="chart chart-line"`); n != 2 {
		t.Errorf("%d line charts, want 2 (events, users)", n)
	}
	if !strings.Contains(r.body, `"name":"App launch"`) || !strings.Contains(r.body, `data-raw="app_launch">App launch</td>`) {
		t.Errorf("the series and cells name the event types")
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	e.login(t, c, userName, userPassword, "/")
	cases := []struct {
		path   string
		status int
		says   string
	}{
		{"/apps/nope/events", http.StatusNotFound, "没有这个小程序：nope"},
		{"/apps/shop/nope", http.StatusNotFound, "没有这个分析：nope"},
		{"/apps/shop/nope.csv", http.StatusNotFound, "没有这个分析：nope"},
		{"/apps/shop/events?from=yesterday", http.StatusBadRequest, `开始日期：应为日期（格式 YYYY-MM-DD），收到 "yesterday"`},
		{"/apps/shop/events?from=2026-03-10&to=2026-03-01", http.StatusBadRequest, "结束日期：不能早于开始日期"},
		{"/apps/shop/events?from=2020-01-01&to=2026-03-01", http.StatusBadRequest, "最多 366 天"},
		{"/apps/shop/events?to=2026-02-30", http.StatusBadRequest, "结束日期：应为日期"},
		{"/apps/shop/events.csv?from=2026-13-01", http.StatusBadRequest, "开始日期：应为日期"},
		{"/apps/shop/funnel?by=nope", http.StatusBadRequest, `分组：应为以下之一：guide_id, room_id, ad_id, store_id, chan_id；收到 "nope"`},
		{"/apps/shop/skus?limit=0", http.StatusBadRequest, "显示条数：应为 1 到 10000 之间的整数"},
		{"/apps/shop/guides/detail?from=2026-03-01", http.StatusBadRequest, "编号：必须填写，最长 256 个字符"},
		{"/static/nope.css", http.StatusNotFound, ""},
	}
	for _, tc := range cases {
		r := do(t, c, "GET", e.srv.URL+tc.path, nil, nil)
		if r.status != tc.status || !strings.Contains(html.UnescapeString(tagRe.ReplaceAllString(r.body, "")), tc.says) {
			t.Errorf("%s: %d, want %d saying %q:\n%.400s", tc.path, r.status, tc.status, tc.says, r.body)
		}
	}
	// /apps/{app} opens its default analysis, keeping the range.
	r := do(t, c, "GET", e.srv.URL+"/apps/shop/?from=2026-03-01", nil, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != defaultPage()+"?from=2026-03-01" {
		t.Errorf("/apps/shop/: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestCSVExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	path := "/apps/shop/events.csv?from=2026-03-04&to=2026-03-10"
	if r := do(t, c, "GET", e.srv.URL+path, nil, nil); r.status != http.StatusSeeOther {
		t.Fatalf("CSV without login: %d", r.status)
	}
	e.login(t, c, userName, userPassword, "/")
	r := do(t, c, "GET", e.srv.URL+path, nil, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		r.header.Get("Content-Disposition") != `attachment; filename="shop-events-2026-03-04_2026-03-10.csv"` {
		t.Fatalf("CSV: %d %v", r.status, r.header)
	}
	// The page's CSV is what the page shows, for a spreadsheet: a BOM,
	// the headers and names in the page's language, numbers as shown.
	if !strings.HasPrefix(r.body, "\ufeff") {
		t.Fatalf("no UTF-8 BOM: %q", r.body[:20])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "日期,行为,类别,事件数,用户数" {
		t.Errorf("zh header %v", recs[0])
	}
	page := do(t, c, "GET", e.srv.URL+"/apps/shop/events?from=2026-03-04&to=2026-03-10", nil, nil)
	shown := shownText(page.body)
	if len(recs)-1 != len(shown) {
		t.Fatalf("%d CSV rows, %d shown", len(recs)-1, len(shown))
	}
	for i, row := range shown {
		if strings.Join(recs[i+1], "|") != strings.Join(row, "|") {
			t.Errorf("CSV row %d %v, page shows %v", i, recs[i+1], row)
		}
	}
	// English headers with ?lang=en remembered.
	do(t, c, "GET", e.srv.URL+path+"&lang=en", nil, nil)
	r = do(t, c, "GET", e.srv.URL+path, nil, nil)
	if first, _, _ := strings.Cut(strings.TrimPrefix(r.body, "\ufeff"), "\n"); strings.TrimSpace(first) != "Day,Behaviour,Kind,Events,Users" {
		t.Errorf("en header %q", first)
	}
	// The API's CSV stays raw, for programs.
	api := do(t, http.DefaultClient, "GET", e.srv.URL+"/api/v1/apps/shop/analysis/events?from=2026-03-04&to=2026-03-10&format=csv", nil,
		map[string]string{"Authorization": "Bearer " + adminKey})
	if api.status != http.StatusOK || !strings.HasPrefix(api.body, "day,type,kind,events,users\n") {
		t.Fatalf("API CSV:\n%.200s", api.body)
	}
}

// shownText is the text of the main table's body cells, as shown.
func shownText(body string) [][]string {
	_, table, _ := strings.Cut(body, `id="data"`)
	_, tbody, _ := strings.Cut(table, "<tbody>")
	tbody, _, _ = strings.Cut(tbody, "</tbody>")
	var rows [][]string
	for _, tr := range trRe.FindAllStringSubmatch(tbody, -1) {
		var row []string
		for _, td := range tdRe.FindAllStringSubmatch(tr[1], -1) {
			row = append(row, html.UnescapeString(tagRe.ReplaceAllString(td[2], "")))
		}
		rows = append(rows, row)
	}
	return rows
}

func TestExtraParamsPassThrough(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	e.login(t, c, userName, userPassword, "/")
	r := do(t, c, "GET", e.srv.URL+"/apps/shop/events?from=2026-03-04&to=2026-03-10&limit=5", nil, nil)
	if r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	if !strings.Contains(r.body, `<input name="limit" value="5"`) {
		t.Errorf("the form must keep the extra parameter")
	}
	if !strings.Contains(r.body, `.csv?from=2026-03-04&amp;limit=5&amp;to=2026-03-10"`) {
		t.Errorf("the CSV link must carry the extra parameter")
	}
}

func TestStaticAndHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	r := do(t, c, "GET", e.srv.URL+"/login", nil, nil)
	m := regexp.MustCompile(`href="(/static/style\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no style sheet link")
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "http") ||
		!strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	s := do(t, c, "GET", e.srv.URL+m[1], nil, nil)
	if s.status != http.StatusOK || !strings.HasPrefix(s.header.Get("Content-Type"), "text/css") ||
		!strings.Contains(s.header.Get("Cache-Control"), "immutable") || !strings.Contains(s.body, "table.data") {
		t.Fatalf("style sheet: %d %v", s.status, s.header)
	}
	// Nothing is loaded from elsewhere: the dashboard works offline.
	e.login(t, c, userName, userPassword, "/")
	page := do(t, c, "GET", e.srv.URL+"/apps/shop/events", nil, nil).body
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(page) {
		t.Errorf("the page refers to another site")
	}
	// Scripts only from our own static files, none inline but the charts'
	// JSON data.
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1)
	if len(scripts) != 3 {
		t.Errorf("scripts %v", scripts)
	}
	for _, sc := range scripts {
		if !strings.Contains(sc, `src="/static/`) && sc != `<script type="application/json" id="chart-data">` {
			t.Errorf("script %s", sc)
		}
	}
	for _, name := range []string{"echarts.min.js", "dashboard.js"} {
		m := regexp.MustCompile(`src="(/static/` + regexp.QuoteMeta(name) + `\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s", name)
		}
		js := do(t, c, "GET", e.srv.URL+html.UnescapeString(m[1]), nil, nil)
		if js.status != http.StatusOK || !strings.Contains(js.header.Get("Content-Type"), "javascript") {
			t.Errorf("%s: %d %v", name, js.status, js.header)
		}
	}
}

// TestStaticGzip: scripts go gzipped to browsers that take it, plain to
// others, with distinct validators.
func TestStaticGzip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	e.login(t, c, userName, userPassword, "/")
	page := do(t, c, "GET", e.srv.URL+"/apps/shop/events", nil, nil).body
	m := regexp.MustCompile(`src="(/static/echarts\.min\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no echarts script")
	}
	plain := do(t, c, "GET", e.srv.URL+m[1], nil, map[string]string{"Accept-Encoding": "identity"})
	gz := do(t, c, "GET", e.srv.URL+m[1], nil, map[string]string{"Accept-Encoding": "gzip, deflate, br"})
	refused := do(t, c, "GET", e.srv.URL+m[1], nil, map[string]string{"Accept-Encoding": "gzip;q=0"})
	if plain.header.Get("Content-Encoding") != "" || refused.header.Get("Content-Encoding") != "" || gz.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("encodings: %q %q %q", plain.header.Get("Content-Encoding"), refused.header.Get("Content-Encoding"), gz.header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(gz.body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || string(unzipped) != plain.body || len(gz.body)*2 > len(plain.body) {
		t.Errorf("gzipped %d bytes of %d: %v", len(gz.body), len(plain.body), err)
	}
	if plain.header.Get("ETag") == gz.header.Get("ETag") || !strings.Contains(gz.header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("validators: %v / %v", plain.header, gz.header)
	}
}

func TestLoginRenewsSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	first := sessionCookie(t, e.login(t, c, userName, userPassword, "/"))
	second := sessionCookie(t, e.login(t, c, userName, userPassword, "/"))
	if first == nil || second == nil || first.Value == second.Value {
		t.Fatalf("a new login must get a new id: %v %v", first, second)
	}
	r := do(t, e.client(t), "GET", e.srv.URL+"/apps/shop/events", nil, map[string]string{"Cookie": "shuyuan_session=" + first.Value})
	if r.status != http.StatusSeeOther {
		t.Errorf("the id from before the second login still works: %d", r.status)
	}
	// Behind a TLS proxy the cookie is Secure.
	r = do(t, e.client(t), "POST", e.srv.URL+"/login", url.Values{"name": {userName}, "password": {userPassword}},
		map[string]string{"X-Forwarded-Proto": "https"})
	if ck := sessionCookie(t, r); ck == nil || !ck.Secure {
		t.Errorf("cookie behind https: %+v", ck)
	}
}

// TestParamForms: each page draws the form of the parameters its analysis
// declares, with the closed lists as selects.
func TestParamForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(t)
	e.login(t, c, userName, userPassword, "/")
	for _, tc := range []struct{ page, want string }{
		{"channels?from=2026-03-04&to=2026-03-10&dimension=scene",
			`<select name="dimension"><option value="">`},
		{"channels?from=2026-03-04&to=2026-03-10&dimension=scene", `<option value="scene" selected>`},
		{"skus?from=2026-03-04&to=2026-03-10", `<option value="exposures" selected>`},
		{"official-account?from=2026-03-04&to=2026-03-10", `<input name="accounts"`},
		{"funnel?from=2026-03-04&to=2026-03-10", `<select name="by">`},
		{"search?from=2026-03-04&to=2026-03-10", `<input name="limit"`},
	} {
		r := do(t, c, "GET", e.srv.URL+"/apps/shop/"+tc.page, nil, nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: status %d, want %s in the page", tc.page, r.status, tc.want)
		}
	}
}
