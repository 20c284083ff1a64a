package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

const wxTestAdminKey = "wx-test-admin-key-0123456789"

// wxEnv is the real server with the WeChat routes over a real store, and
// the WeChat fake (its own clock) behind them.
type wxEnv struct {
	t      *testing.T
	url    string
	st     *duckdb.Store
	svc    *conversion.Service
	worker *conversion.Worker
	fake   *wxfake.Server
	clock  *wxfake.Clock
}

func newWXEnv(t *testing.T, apps ...*tenant.App) *wxEnv {
	t.Helper()
	clock := wxfake.NewClock(time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC))
	fo := wxfake.Options{Now: clock.Now, DedupOuterActionID: true, IdentifyWellFormed: true}
	for i, a := range apps {
		if a.WxAppID != "" {
			fo.Apps = append(fo.Apps, wxfake.App{AppID: a.WxAppID, Secret: a.WxSecret, AccountID: int64(3001 + i)})
		}
	}
	fake, err := wxfake.New(fo)
	if err != nil {
		t.Fatal(err)
	}
	fs := httptest.NewServer(fake)
	t.Cleanup(fs.Close)
	reg, err := tenant.NewRegistry(apps)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := conversion.NewService(st, reg, conversion.Options{BaseURL: fs.URL, HTTPClient: fs.Client(), Now: clock.Now, Logger: log})
	srv := server.New(server.Deps{
		Tenants: reg, Store: st, Logger: log, AdminKey: wxTestAdminKey, MaxBody: 1 << 20,
		Routes: []func(*server.Server) []server.Route{server.WX(svc)},
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &wxEnv{t: t, url: hs.URL, st: st, svc: svc, fake: fake, clock: clock,
		worker: conversion.NewWorker(svc, conversion.WorkerOptions{Rand: func() float64 { return 0 }})}
}

func wxApp(id, wx string) *tenant.App {
	return &tenant.App{ID: id, Name: id, SDKToken: "token-" + id, WxAppID: wx, WxSecret: "secret-" + id,
		Ads: tenant.Ads{SendOuterActionID: true}}
}

// call sends a request to a /wx route and decodes the answer.
func (e *wxEnv) call(method, path, body string, key ...string) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	k := wxTestAdminKey
	if len(key) > 0 {
		k = key[0]
	}
	if k != "" {
		req.Header.Set("Authorization", "Bearer "+k)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		e.t.Fatalf("%s %s: HTTP %d, not JSON: %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

func errcode(m map[string]any) int64 {
	n, _ := m["errcode"].(json.Number).Int64()
	return n
}

func errmsg(m map[string]any) string { s, _ := m["errmsg"].(string); return s }

func data(m map[string]any) map[string]any { d, _ := m["data"].(map[string]any); return d }

func num(v any) int64 { n, _ := v.(json.Number).Int64(); return n }

func TestWXAuthAndAppChoice(t *testing.T) {
	e := newWXEnv(t, wxApp("a", "wxa000000000000001"), wxApp("b", "wxb000000000000001"))
	for _, k := range []string{"", "wrong-key"} {
		status, m := e.call(http.MethodGet, "/wx/advert/get?app=a", "", k)
		if status != http.StatusUnauthorized || errcode(m) != 40001 {
			t.Errorf("key %q: HTTP %d %v", k, status, m)
		}
	}
	status, m := e.call(http.MethodGet, "/wx/advert/get", "")
	if status != http.StatusBadRequest || errcode(m) != 40013 || !strings.Contains(errmsg(m), "2 apps are configured (a, b)") {
		t.Errorf("without ?app: HTTP %d %v", status, m)
	}
	status, m = e.call(http.MethodGet, "/wx/advert/get?app=zz", "")
	if status != http.StatusNotFound || errcode(m) != 40013 {
		t.Errorf("unknown app: HTTP %d %v", status, m)
	}
	status, m = e.call(http.MethodGet, "/wx/nothing", "")
	if status != http.StatusNotFound || errcode(m) != 404 {
		t.Errorf("unknown route: HTTP %d %v", status, m)
	}
}

func TestWXAdvertAddIsIdempotent(t *testing.T) {
	e := newWXEnv(t, wxApp("a", "wxa000000000000001"))
	// One app: ?app= may be left out.
	status, m := e.call(http.MethodPost, "/wx/advert/add", "")
	id := num(data(m)["user_action_set_id"])
	if status != http.StatusOK || errcode(m) != 0 || errmsg(m) != "ok" || id == 0 || data(m)["created"] != true {
		t.Fatalf("first add: HTTP %d %v", status, m)
	}
	_, m = e.call(http.MethodPost, "/wx/advert/add?app=a", "")
	if num(data(m)["user_action_set_id"]) != id || data(m)["created"] != false {
		t.Errorf("second add: %v, want the same id %d adopted", m, id)
	}
	status, m = e.call(http.MethodGet, "/wx/advert/get?app=a", "")
	list, _ := data(m)["list"].([]any)
	if status != http.StatusOK || len(list) != 1 || num(m["user_action_set_id"]) != id {
		t.Fatalf("get: HTTP %d %v", status, m)
	}
	if set := list[0].(map[string]any); set["type"] != "WEB" || num(set["user_action_set_id"]) != id {
		t.Errorf("listed %v", set)
	}
	status, m = e.call(http.MethodGet, "/wx/advert/get?user_action_set_id=abc", "")
	if status != http.StatusBadRequest || errcode(m) != 900351000 || !strings.HasPrefix(errmsg(m), "user_action_set_id:") {
		t.Errorf("bad filter: HTTP %d %v", status, m)
	}
}

func TestWXAdvertAddAdoptsExistingSet(t *testing.T) {
	e := newWXEnv(t, wxApp("a", "wxa000000000000001"))
	status, m := e.call(http.MethodPost, "/wx/advert/add", "")
	first := num(data(m)["user_action_set_id"])
	if status != http.StatusOK {
		t.Fatalf("add: %v", m)
	}
	// Forget what we stored: a second shuyuan data directory, same account.
	if _, err := e.st.DB().Exec(`DELETE FROM app_state`); err != nil {
		t.Fatal(err)
	}
	other := conversion.NewService(e.st, e.svc.Apps(), conversion.Options{BaseURL: e.fakeURL(), Now: e.clock.Now})
	id, created, err := other.EnsureDataSource(context.Background(), "a")
	if err != nil || created || id != first {
		t.Errorf("adopted %d created=%v (%v), want %d", id, created, err, first)
	}
}

func (e *wxEnv) fakeURL() string {
	hs := httptest.NewServer(e.fake)
	e.t.Cleanup(hs.Close)
	return hs.URL
}

func TestWXActionsAdd(t *testing.T) {
	e := newWXEnv(t, wxApp("a", "wxa000000000000001"))
	now := e.clock.Now().Unix()
	good := fmt.Sprintf(`{"actions":[
		{"url":"https://shop.example.com/pay","action_time":%d,"action_type":"COMPLETE_ORDER","trace":{"click_id":"wx0ewinbalytptma00"},"action_param":{"value":4000},"outer_action_id":"order-77"},
		{"url":"https://shop.example.com/form","action_time":%d,"action_type":"RESERVATION","trace":{"click_id":"wx0vnret2znwpts4"}}]}`, now-60, now-30)
	status, m := e.call(http.MethodPost, "/wx/actions/add", good)
	if status != http.StatusOK || errcode(m) != 0 || num(data(m)["accepted"]) != 2 || num(data(m)["duplicates"]) != 0 {
		t.Fatalf("add: HTTP %d %v", status, m)
	}
	// The caller retries the same body: deduplicated, nothing new sent.
	_, m = e.call(http.MethodPost, "/wx/actions/add", good)
	if num(data(m)["accepted"]) != 0 || num(data(m)["duplicates"]) != 2 {
		t.Errorf("resend: %v", m)
	}
	res, err := e.worker.Flush(context.Background())
	if err != nil || res.Delivered != 2 {
		t.Fatalf("flush %+v %v", res, err)
	}
	acts := e.fake.Actions()
	if len(acts) != 2 || acts[0].OuterActionID == "" {
		t.Fatalf("fake got %+v", acts)
	}
	byType := map[string]wxfake.RecordedAction{}
	for _, a := range acts {
		byType[a.ActionType] = a
	}
	if a := byType["COMPLETE_ORDER"]; a.OuterActionID != "order-77" || a.ActionTime != now-60 || !a.Identified {
		t.Errorf("order action %+v", a)
	}
	// Without the caller's id, the action's own deterministic id.
	if a := byType["RESERVATION"]; len(a.OuterActionID) != 32 || a.ActionTime != now-30 {
		t.Errorf("lead action %+v", a)
	}

	bad := []struct {
		name, body string
		code       int64
		msg        string
	}{
		{"not json", `{"actions":[`, 900351002, "body:"},
		{"no actions", `{"actions":[]}`, 900351000, "actions: must be an array of 1 to"},
		{"time as string", `{"actions":[{"url":"u","action_time":"1741572000","action_type":"COMPLETE_ORDER","trace":{"click_id":"wx0ewinbalytptma00"}}]}`, 900351002, "actions[0].action_time: must be an integer"},
		{"no time", `{"actions":[{"url":"u","action_type":"COMPLETE_ORDER","trace":{"click_id":"wx0ewinbalytptma00"}}]}`, 900351000, "actions[0].action_time: required"},
		{"future", fmt.Sprintf(`{"actions":[{"url":"u","action_time":%d,"action_type":"COMPLETE_ORDER","trace":{"click_id":"wx0ewinbalytptma00"}}]}`, now+3600), 900351000, "ahead of the server clock"},
		{"other type", fmt.Sprintf(`{"actions":[{"url":"u","action_time":%d,"action_type":"PURCHASE","trace":{"click_id":"wx0ewinbalytptma00"}}]}`, now), 900351000, "actions[0].action_type: must be COMPLETE_ORDER, RESERVATION or CONFIRM_EFFECTIVE_LEADS"},
		{"click outside trace", fmt.Sprintf(`{"actions":[{"url":"u","action_time":%d,"action_type":"RESERVATION","click_id":"wx0ewinbalytptma00"}]}`, now), 900351000, "click_id must be inside trace"},
		{"short click", fmt.Sprintf(`{"actions":[{"url":"u","action_time":%d,"action_type":"RESERVATION","trace":{"click_id":"wx0ab"}}]}`, now), 900351000, "actions[0].trace.click_id: click id too short"},
		{"negative value", fmt.Sprintf(`{"actions":[{"url":"u","action_time":%d,"action_type":"COMPLETE_ORDER","trace":{"click_id":"wx0ewinbalytptma00"},"action_param":{"value":-5}}]}`, now), 900351000, "actions[0].action_param.value: must not be negative"},
		{"second bad", fmt.Sprintf(`{"actions":[{"url":"u","action_time":%d,"action_type":"RESERVATION","trace":{"click_id":"wx0ewinbalytptma00"}},{"url":"u","action_time":%d,"action_tpye":"RESERVATION","trace":{"click_id":"wx0ewinbalytptma00"}}]}`, now, now), 900351000, "actions[1].action_type"},
		{"other set", fmt.Sprintf(`{"user_action_set_id":1,"actions":[{"url":"u","action_time":%d,"action_type":"RESERVATION","trace":{"click_id":"wx0ewinbalytptma00"}}]}`, now), 900351000, "user_action_set_id: 1 is not app a's data source"},
	}
	for _, tc := range bad {
		status, m := e.call(http.MethodPost, "/wx/actions/add", tc.body)
		if status != http.StatusBadRequest || errcode(m) != tc.code || !strings.Contains(errmsg(m), tc.msg) {
			t.Errorf("%s: HTTP %d %v; want errcode %d with %q", tc.name, status, m, tc.code, tc.msg)
		}
	}
	if n := len(e.fake.Actions()); n != 2 {
		t.Errorf("refused bodies reached the outbox: the fake has %d actions", n)
	}
}

func TestWXActionsGetReportAndOurCounts(t *testing.T) {
	e := newWXEnv(t, wxApp("a", "wxa000000000000001"))
	now := e.clock.Now()
	body := fmt.Sprintf(`{"actions":[
		{"url":"https://shop.example.com/","action_time":%d,"action_type":"COMPLETE_ORDER","trace":{"click_id":"wx0ewinbalytptma00"},"action_param":{"value":100}},
		{"url":"https://shop.example.com/","action_time":%d,"action_type":"COMPLETE_ORDER","trace":{"click_id":"wx0vnret2znwpts4"},"action_param":{"value":200}},
		{"url":"https://shop.example.com/","action_time":%d,"action_type":"RESERVATION","trace":{"click_id":"wx0vnret2znwpts4"}}]}`,
		now.Add(-time.Hour).Unix(), now.Add(-time.Minute).Unix(), now.Unix())
	if _, m := e.call(http.MethodPost, "/wx/actions/add", body); errcode(m) != 0 {
		t.Fatal(m)
	}
	if _, err := e.worker.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	day := now.In(time.FixedZone("GMT+8", 8*3600)).Format(time.DateOnly)
	q := url.Values{"start_date": {day}, "end_date": {day}, "time_granularity": {"DAILY"}, "aggregation": {"ACTION_TYPE"}}
	status, m := e.call(http.MethodGet, "/wx/actions/get?"+q.Encode(), "")
	if status != http.StatusOK || errcode(m) != 0 {
		t.Fatalf("HTTP %d %v", status, m)
	}
	wechat := map[string]int64{}
	for _, r := range data(m)["list"].([]any) {
		row := r.(map[string]any)
		wechat[row["action_type"].(string)] = num(row["raw_action_count"])
	}
	ours := map[string]int64{}
	for _, r := range m["delivered"].([]any) {
		row := r.(map[string]any)
		if row["date"] != day {
			t.Errorf("our row of %v, asked for %s", row["date"], day)
		}
		ours[row["action_type"].(string)] = num(row["delivered"])
	}
	want := map[string]int64{"COMPLETE_ORDER": 2, "RESERVATION": 1}
	for k, n := range want {
		if wechat[k] != n || ours[k] != n {
			t.Errorf("%s: WeChat counts %d, we count %d, want %d", k, wechat[k], ours[k], n)
		}
	}
	status, m = e.call(http.MethodGet, "/wx/actions/get?start_date="+day, "")
	if status != http.StatusBadRequest || !strings.Contains(errmsg(m), "end_date: required") {
		t.Errorf("no end_date: HTTP %d %v", status, m)
	}
	// WeChat refuses the dates (the end is after its today): its error,
	// and our counts beside it.
	later := now.AddDate(0, 0, 2).Format(time.DateOnly)
	status, m = e.call(http.MethodGet, "/wx/actions/get?start_date="+day+"&end_date="+later, "")
	if status != http.StatusBadGateway || errcode(m) != 900351000 || m["delivered"] == nil {
		t.Errorf("WeChat refusal: HTTP %d %v", status, m)
	}
}

func TestWXToken(t *testing.T) {
	e := newWXEnv(t, wxApp("a", "wxa000000000000001"), &tenant.App{ID: "nowx", SDKToken: "token-nowx"})
	status, m := e.call(http.MethodGet, "/wx/token?app=a", "")
	tok, _ := m["access_token"].(string)
	if status != http.StatusOK || errcode(m) != 0 || tok == "" || num(m["expires_in"]) != 7200 {
		t.Fatalf("HTTP %d %v", status, m)
	}
	// The token is WeChat's current one: it works for the marketing API.
	res, err := http.Get(e.fakeURL() + "/marketing/user_action_sets/get?version=v1.0&access_token=" + url.QueryEscape(tok))
	if err != nil {
		t.Fatal(err)
	}
	var ans struct {
		ErrCode int64 `json:"errcode"`
	}
	json.NewDecoder(res.Body).Decode(&ans) //nolint:errcheck // checked through ans
	res.Body.Close()
	if ans.ErrCode != 0 {
		t.Errorf("the served token was refused: %d", ans.ErrCode)
	}
	e.clock.Advance(time.Hour)
	_, m = e.call(http.MethodGet, "/wx/token?app=a", "")
	if m["access_token"] != tok || num(m["expires_in"]) != 3600 {
		t.Errorf("an hour later: %v, want the same token with 3600 s left", m)
	}
	status, m = e.call(http.MethodGet, "/wx/token?app=nowx", "")
	if status != http.StatusConflict || errcode(m) != 41002 {
		t.Errorf("app without WeChat credentials: HTTP %d %v", status, m)
	}
}

func TestWXOutboxAndReplay(t *testing.T) {
	e := newWXEnv(t, wxApp("a", "wxa000000000000001"))
	body := fmt.Sprintf(`{"actions":[{"url":"u","action_time":%d,"action_type":"RESERVATION","trace":{"click_id":"wx0ewinbalytptma00"}}]}`, e.clock.Now().Unix())
	if _, m := e.call(http.MethodPost, "/wx/actions/add", body); errcode(m) != 0 {
		t.Fatal(m)
	}
	// The account has lost its ads permission: refused for good.
	if err := e.fake.Script(wxfake.EndpointActionsAdd, wxfake.Fault{Kind: wxfake.FaultUnauthorized}); err != nil {
		t.Fatal(err)
	}
	if res, err := e.worker.Flush(context.Background()); err != nil || res.Dead != 1 {
		t.Fatalf("flush %+v %v", res, err)
	}
	status, m := e.call(http.MethodGet, "/wx/outbox?state=dead", "")
	list, _ := data(m)["list"].([]any)
	counts, _ := data(m)["counts"].(map[string]any)
	if status != http.StatusOK || len(list) != 1 || num(counts["dead"]) != 1 {
		t.Fatalf("outbox: HTTP %d %v", status, m)
	}
	if l := list[0].(map[string]any); !strings.Contains(l["last_error"].(string), "48001") || l["last_class"] != "permanent" {
		t.Errorf("dead letter %v", l)
	}
	status, m = e.call(http.MethodPost, "/wx/outbox/replay", "")
	if status != http.StatusOK || num(data(m)["replayed"]) != 1 {
		t.Fatalf("replay: HTTP %d %v", status, m)
	}
	if res, err := e.worker.Flush(context.Background()); err != nil || res.Delivered != 1 {
		t.Fatalf("flush after replay %+v %v", res, err)
	}
	if status, m = e.call(http.MethodGet, "/wx/outbox?state=bogus", ""); status != http.StatusBadRequest {
		t.Errorf("bad state: HTTP %d %v", status, m)
	}
}
