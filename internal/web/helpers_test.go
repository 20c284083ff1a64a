package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/web"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

const (
	adminKey     = "admin-key-0123456789"
	userName     = "alice"
	userPassword = "correct horse battery"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// testNow is "now" for the dashboard under test: its default range is
// 2026-03-04 … 2026-03-10.
var testNow = time.Date(2026, 3, 10, 15, 0, 0, 0, shanghai)

// clock is a settable clock for session expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a dashboard over a real store with a few days of events.
type env struct {
	srv     *httptest.Server
	clock   *clock
	st      store.Store
	tenants *tenant.Registry
	// ads records the demo app's conversions as serve does; worker sends
	// them to a WeChat fake when fillDemo asks it to.
	ads    *conversion.Service
	worker *conversion.Worker
}

var aliceHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(userPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

// newEnv starts a server with three apps ("shop", with a few hand-made
// events, "empty", and the demo app, empty until fillDemo) and the
// dashboard mounted as serve mounts it.
func newEnv(t testing.TB) *env {
	t.Helper()
	st := storetest.Open(t)
	fill(t, st, "shop", testNow, 24)
	tenants, err := tenant.NewRegistry([]*tenant.App{
		{ID: "shop", Name: "测试商城", SDKToken: "token-shop", Location: shanghai},
		{ID: "empty", Name: "Empty shop", SDKToken: "token-empty", Location: shanghai},
		// Filled by fillDemo for the tests that want realistic traffic;
		// configured as serve --demo configures it.
		{ID: demo.AppID, Name: demo.AppName, SDKToken: demo.SDKToken, WxAppID: demo.WxAppID, WxSecret: demoWxSecret,
			DataAPIAppID: demo.DataAPIAppID, DataAPISecret: demo.DataAPISecret,
			Ads: tenant.Ads{OrderSource: tenant.OrderSourceSDK, SendOuterActionID: true}, Location: shanghai},
	})
	if err != nil {
		t.Fatal(err)
	}
	ck := &clock{t: testNow}
	fake, err := wxfake.New(wxfake.Options{Now: ck.Now, IdentifyWellFormed: true, DedupOuterActionID: true,
		Apps: []wxfake.App{{AppID: demo.WxAppID, Secret: demoWxSecret, AccountID: 9000001}}})
	if err != nil {
		t.Fatal(err)
	}
	wx := httptest.NewServer(fake)
	t.Cleanup(wx.Close)
	ads := conversion.NewService(st, tenants, conversion.Options{BaseURL: wx.URL, HTTPClient: wx.Client(), Now: ck.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	st.SetEventHook(ads.OnEvents)
	s := server.New(server.Deps{
		Tenants: tenants, Store: st, AdminKey: adminKey,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Routes: []func(*server.Server) []server.Route{web.Mount(web.Options{
			Users:      []config.User{{Name: userName, PasswordBcrypt: aliceHash()}},
			SessionTTL: time.Hour,
			Now:        ck.Now,
		})},
	})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &env{srv: ts, clock: ck, st: st, tenants: tenants, ads: ads, worker: conversion.NewWorker(ads, conversion.WorkerOptions{})}
}

// demoWxSecret is the WeChat secret of the demo app, known to the fake.
const demoWxSecret = "demo-wx-secret-for-the-fake"

// fillDemo stores two weeks (ending at testNow) of the demo generator's
// traffic for the demo app, through the writer as --demo does, with its
// backend's orders, sums and page report, and reports the conversions to
// the WeChat fake: every page has figures, and the overview's previous
// period too.
func (e *env) fillDemo(t testing.TB, users int) demo.Stats {
	t.Helper()
	app, _ := e.tenants.ByID(demo.AppID)
	w := store.NewWriter(e.st, store.WriterOptions{})
	defer w.Close()
	stats, err := demo.Fill(context.Background(), w, app, demo.Options{
		Seed: 1, Users: users, Days: 14, End: testNow, Location: shanghai, Backend: e.st})
	if err != nil {
		t.Fatalf("fill demo: %v", err)
	}
	if stats.Accepted == 0 || stats.Backend.Orders == 0 {
		t.Fatalf("the demo generator stored nothing: %+v", stats)
	}
	if _, err := e.worker.Flush(context.Background()); err != nil {
		t.Fatalf("report the demo's conversions: %v", err)
	}
	return stats
}

// client is a browser-like client: it keeps cookies and does not follow
// redirects, so tests see them.
func (e *env) client(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t testing.TB, c *http.Client, method, u string, form url.Values, header map[string]string) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// login posts the login form and returns the response (a redirect on
// success).
func (e *env) login(t testing.TB, c *http.Client, name, password, next string) response {
	t.Helper()
	return do(t, c, "POST", e.srv.URL+"/login", url.Values{"name": {name}, "password": {password}, "next": {next}}, nil)
}

// apiJSON fetches an analysis through the JSON API with the admin key.
func (e *env) apiJSON(t testing.TB, path string) apiResult {
	t.Helper()
	r := do(t, http.DefaultClient, "GET", e.srv.URL+path, nil, map[string]string{"Authorization": "Bearer " + adminKey})
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var res apiResult
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return res
}

type apiResult struct {
	Analysis string `json:"analysis"`
	From     string `json:"from"`
	To       string `json:"to"`
	Columns  []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows [][]any `json:"rows"`
}

// fill writes users' visits over the 7 local days ending at end through
// the group-commit writer, as the collector would: launches, page views
// with stay times, searches, SKU views, add-to-carts and paid orders.
func fill(t testing.TB, st store.Store, appID string, end time.Time, users int) int {
	t.Helper()
	w := store.NewWriter(st, store.WriterOptions{})
	defer w.Close()
	ctx := context.Background()
	lastDay := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, end.Location())
	// One batch: every commit of the embedded store costs about as much as
	// a few thousand rows, and the week is small.
	var evs []event.Event
	for day := 0; day < 7; day++ {
		date := lastDay.AddDate(0, 0, day-6)
		for u := 0; u < users; u++ {
			if (u+day)%3 == 0 {
				continue // not every user comes every day
			}
			at := date.Add(time.Duration(8+u%12)*time.Hour + time.Duration(u)*time.Minute)
			if !at.Before(end) {
				continue
			}
			tracking := fmt.Sprintf("%s-%d-%d", appID, u, day)
			user := fmt.Sprintf(`{"open_id":"o_%d"}`, u)
			chn := fmt.Sprintf(`{"chan_wxapp_scene":%d,"chan_id":"ch%d"}`, []int{1001, 1007, 1089}[u%3], u%4)
			n := 0
			add := func(typ, own string) {
				n++
				ms := at.Add(time.Duration(n) * 10 * time.Second).UnixMilli()
				raw := fmt.Sprintf(`{"type":%q,"tracking_id":%q,"log_id":%d,"props":{"page":"pages/index/index","time":%d,"wx_user":%s,"chan":%s%s}}`,
					typ, tracking, n, ms, user, chn, own)
				ev, err := event.Parse(json.RawMessage(raw))
				if err != nil {
					t.Fatalf("test event %s: %v", raw, err)
				}
				evs = append(evs, ev)
			}
			sku := fmt.Sprintf(`"sku":{"sku_id":"sku%d","sku_name":"商品 %d"},"spu":{"spu_id":"spu%d"},"sale":{"current_price":%d.5}`, u%5, u%5, u%5, 10+u%5)
			add("app_launch", "")
			for p := 0; p <= u%3; p++ {
				add("browse_wxapp_page", "")
			}
			add("leave_wxapp_page", fmt.Sprintf(`,"stay_time":%d`, 1000*(5+u%7)))
			if u%4 == 0 {
				add("search", fmt.Sprintf(`,"keyword":"荔枝 %d"`, day%2))
			}
			add("browse_sku_page", ","+sku)
			if u%3 == 0 {
				add("add_to_cart", ","+sku+`,"sku_num":1,"action_type":"append_to_cart"`)
			}
			if u%6 == 0 {
				oid := fmt.Sprintf("order-%d-%d", u, day)
				ms := at.UnixMilli()
				add("custom_order", fmt.Sprintf(`,"order":{"order_id":%q,"order_time":%d,"order_status":"give_order"},"sub_orders":[{"sub_order_id":"%s-1","order_amt":%d.5,"pay_amt":0}]`, oid, ms, oid, 10+u%5))
				add("custom_order", fmt.Sprintf(`,"order":{"order_id":%q,"order_time":%d,"order_status":"payed"},"sub_orders":[{"sub_order_id":"%s-1","order_amt":%d.5,"pay_amt":%d.5}]`, oid, ms, oid, 10+u%5, 10+u%5))
			}
		}
	}
	b := &store.EventBatch{AppID: appID, ReceivedAt: end, Events: evs}
	attribution.Resolve(b)
	res, err := w.Write(ctx, b)
	if err != nil {
		t.Fatalf("write events: %v", err)
	}
	if res.Accepted != len(evs) {
		t.Fatalf("stored %d of %d test events: %+v", res.Accepted, len(evs), res)
	}
	return len(evs)
}
