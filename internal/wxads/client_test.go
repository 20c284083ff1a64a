package wxads_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxads"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

func TestEnsureWebActionSetAdoptsTheExistingOne(t *testing.T) {
	r := newRig(t, nil)
	c := r.client(r.source(false, nil))
	ctx := context.Background()
	id, created, err := c.EnsureWebActionSet(ctx, "shop", "our shop")
	if err != nil || !created || id <= 0 {
		t.Fatalf("first: %d %v %v", id, created, err)
	}
	again, created, err := c.EnsureWebActionSet(ctx, "shop-2", "")
	if err != nil || created || again != id {
		t.Fatalf("second: %d %v %v, want %d adopted", again, created, err, id)
	}
	// A message without the id falls back to user_action_sets/get.
	if err := r.fake.Script(wxfake.EndpointSetsAdd, wxfake.Fault{Kind: wxfake.FaultErrcode, Code: 900351000,
		Msg: fmt.Sprintf("could create only one web action set for %d", account)}); err != nil {
		t.Fatal(err)
	}
	again, created, err = c.EnsureWebActionSet(ctx, "shop", "")
	if err != nil || created || again != id {
		t.Fatalf("fallback: %d %v %v, want %d", again, created, err, id)
	}
	sets, err := c.GetActionSets(ctx, id)
	if err != nil || len(sets) != 1 || sets[0].Type != "WEB" || sets[0].Name != "shop" || sets[0].Description != "our shop" {
		t.Fatalf("sets %+v %v", sets, err)
	}
	if created, err := sets[0].Created(); err != nil || !created.Equal(t0) {
		t.Errorf("created %v %v, want %v", created, err, t0)
	}
	if len(r.fake.ActionSets()) != 1 {
		t.Errorf("fake holds %d sets", len(r.fake.ActionSets()))
	}
	// Any other failure is passed through.
	if err := r.fake.Script(wxfake.EndpointSetsAdd, wxfake.Fault{Kind: wxfake.FaultUnauthorized}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.EnsureWebActionSet(ctx, "shop", ""); wxads.Classify(err) != wxads.ClassPermanent || !wxads.NeedsAlert(err) {
		t.Errorf("48001: %v", err)
	}
}

func TestParseExistingWebActionSetID(t *testing.T) {
	cases := []struct {
		msg  string
		id   int64
		want bool
	}{
		{"could create only one web action set for 1001 with existed one : 1111015138", 1111015138, true},
		{"could create only one web action set for 1001 with existed one: 1200542894 rid: 65f0a001-1-2", 1200542894, true},
		{"Could Create Only One WEB action set for 1001 with existed one :42", 42, true},
		{"could create only one web action set for 1001", 0, false},
		{"action set 1 does not belong to this account 2", 0, false},
		{"", 0, false},
		{"could create only one web action set for 1001 with existed one : 99999999999999999999", 0, false},
	}
	for _, c := range cases {
		id, ok := wxads.ParseExistingWebActionSetID(c.msg)
		if id != c.id || ok != c.want {
			t.Errorf("%q: %d %v, want %d %v", c.msg, id, ok, c.id, c.want)
		}
	}
	err := fmt.Errorf("wrapped: %w", &wxads.APIError{Code: 900351000, Msg: cases[0].msg})
	if id, ok := wxads.ExistingWebActionSetID(err); !ok || id != 1111015138 {
		t.Errorf("through a wrapped APIError: %d %v", id, ok)
	}
	if _, ok := wxads.ExistingWebActionSetID(errors.New(cases[0].msg)); ok {
		t.Error("a plain error is not a platform answer")
	}
}

func TestFaultsAreClassified(t *testing.T) {
	cases := []struct {
		fault     wxfake.Fault
		wantClass wxads.Class
		wantAlert bool
		wantCode  int64 // 0: no APIError expected
	}{
		{wxfake.Fault{Kind: wxfake.FaultSystemBusy}, wxads.ClassRetry, false, -1},
		{wxfake.Fault{Kind: wxfake.FaultUnavailable}, wxads.ClassRetry, false, 900310000},
		{wxfake.Fault{Kind: wxfake.FaultMinuteQuota}, wxads.ClassRateLimited, false, 45011},
		{wxfake.Fault{Kind: wxfake.FaultDailyQuota}, wxads.ClassQuota, true, 45009},
		{wxfake.Fault{Kind: wxfake.FaultUnauthorized}, wxads.ClassPermanent, true, 48001},
		{wxfake.Fault{Kind: wxfake.FaultCrossEntity}, wxads.ClassPermanent, true, 900351001},
		{wxfake.Fault{Kind: wxfake.FaultErrcode, Code: 900351002, Msg: "JSON string is malformed."}, wxads.ClassPermanent, false, 900351002},
		{wxfake.Fault{Kind: wxfake.FaultErrcode, Code: 123456, Msg: "never seen"}, wxads.ClassPermanent, false, 123456},
		{wxfake.Fault{Kind: wxfake.FaultHTTP502}, wxads.ClassRetry, false, 0},
		{wxfake.Fault{Kind: wxfake.FaultSlow, Delay: time.Hour}, wxads.ClassRetry, false, 0},
		{wxfake.Fault{Kind: wxfake.FaultDropAfterRecord}, wxads.ClassRetry, false, 0},
	}
	for _, c := range cases {
		t.Run(string(c.fault.Kind)+fmt.Sprint(c.fault.Code), func(t *testing.T) {
			r := newRig(t, nil)
			c0 := r.client(r.source(false, nil))
			set := r.webSet(c0)
			// A client that gives up quickly, for the slow fault.
			hc := *r.hs.Client()
			hc.Timeout = 200 * time.Millisecond
			cl, err := wxads.NewClient(wxads.Config{BaseURL: r.hs.URL, HTTPClient: &hc, Tokens: r.source(false, nil)})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.fake.Script(wxfake.EndpointActionsAdd, c.fault); err != nil {
				t.Fatal(err)
			}
			err = cl.AddActions(context.Background(), set, []wxads.Action{order(t0, click1, 4000)})
			if got := wxads.Classify(err); got != c.wantClass {
				t.Errorf("class %v, want %v (err %v)", got, c.wantClass, err)
			}
			if wxads.NeedsAlert(err) != c.wantAlert {
				t.Errorf("alert %v, want %v", wxads.NeedsAlert(err), c.wantAlert)
			}
			var ae *wxads.APIError
			if c.wantCode != 0 && (!errors.As(err, &ae) || ae.Code != c.wantCode || ae.Op != "user_actions/add") {
				t.Errorf("err %v, want APIError %d from user_actions/add", err, c.wantCode)
			}
			if c.wantCode == 0 && errors.As(err, &ae) {
				t.Errorf("transport fault surfaced as APIError %v", ae)
			}
			if n := r.fake.Calls(wxfake.EndpointActionsAdd); n != 1 {
				t.Errorf("%d calls: the client must not retry on its own (only on a rejected token)", n)
			}
		})
	}
}

func TestDroppedConnectionAfterRecordIsVisible(t *testing.T) {
	r := newRig(t, nil)
	r.fake.AddClick(click1)
	c := r.client(r.source(false, nil))
	set := r.webSet(c)
	ctx := context.Background()
	act := order(t0.Add(-time.Minute), click1, 4000)
	if err := r.fake.Script(wxfake.EndpointActionsAdd, wxfake.Fault{Kind: wxfake.FaultDropAfterRecord}); err != nil {
		t.Fatal(err)
	}
	err := c.AddActions(ctx, set, []wxads.Action{act})
	if err == nil || wxads.Classify(err) != wxads.ClassRetry {
		t.Fatalf("dropped connection: %v, want a retryable error", err)
	}
	got := r.fakeActions()
	if len(got) != 1 {
		t.Fatalf("/_fake/actions holds %d, want 1: the platform recorded it before the drop", len(got))
	}
	// The worker's retry sends the same payload; the fake shows the
	// duplicate that our own idempotency ledger has to account for.
	if err := c.AddActions(ctx, set, []wxads.Action{act}); err != nil {
		t.Fatal(err)
	}
	got = r.fakeActions()
	if len(got) != 2 {
		t.Fatalf("/_fake/actions holds %d, want 2", len(got))
	}
	for _, a := range got {
		raw, _ := a["raw"].(map[string]any)
		trace, _ := raw["trace"].(map[string]any)
		if fmt.Sprint(a["user_action_set_id"]) != fmt.Sprint(set) || fmt.Sprint(raw["action_time"]) != fmt.Sprint(act.ActionTime) ||
			trace["click_id"] != click1 || a["identified"] != true {
			t.Errorf("recorded %v", a)
		}
	}
}

func TestActionsAsSent(t *testing.T) {
	r := newRig(t, func(o *wxfake.Options) { o.IdentifyWellFormed = true })
	c := r.client(r.source(false, nil))
	set := r.webSet(c)
	lead := wxads.Action{
		ActionTime: t0.Unix(), ActionType: wxads.ActionConfirmEffectiveLeads, URL: "pages/form/index",
		Trace: wxads.Trace{ClickID: click2}, ActionParam: &wxads.ActionParam{LeadsType: "RESERVE"},
		UserID: &wxads.UserID{WechatOpenID: "o-1"}, OuterActionID: "lead-7",
	}
	if err := c.AddActions(context.Background(), set, []wxads.Action{order(t0, click1, 4000), lead}); err != nil {
		t.Fatal(err)
	}
	got := r.fake.Actions()
	if len(got) != 2 {
		t.Fatalf("%d actions", len(got))
	}
	want := []string{
		`{"action_time":1741572000,"action_type":"COMPLETE_ORDER","url":"https://shop.example.com/pay","trace":{"click_id":"wx0ewinbalytptma00"},"action_param":{"value":4000}}`,
		`{"action_time":1741572000,"action_type":"CONFIRM_EFFECTIVE_LEADS","url":"pages/form/index","trace":{"click_id":"wx0vnret2znwpts4"},"action_param":{"leads_type":"RESERVE"},"user_id":{"wechat_openid":"o-1"},"outer_action_id":"lead-7"}`,
	}
	for i, a := range got {
		if string(a.Raw) != want[i] || !a.Identified || a.UserActionSetID != set {
			t.Errorf("action %d: %s (identified %v)\nwant %s", i, a.Raw, a.Identified, want[i])
		}
	}
}

func TestReportThroughTheClient(t *testing.T) {
	r := newRig(t, nil)
	r.fake.AddClick(click1, click2)
	c := r.client(r.source(false, nil))
	set := r.webSet(c)
	ctx := context.Background()
	yesterday := t0.Add(-24 * time.Hour)
	actions := []wxads.Action{
		order(yesterday, click1, 100),
		order(t0.Add(-2*time.Hour), click1, 200), // 08:00
		order(t0.Add(-90*time.Minute), click2, 300),
		order(t0.Add(-80*time.Minute), "wx-unknown-click", 400),
		{ActionTime: t0.Unix(), ActionType: wxads.ActionReservation, URL: "pages/a", Trace: wxads.Trace{ClickID: click2}},
	}
	if err := c.AddActions(ctx, set, actions); err != nil {
		t.Fatal(err)
	}
	daily, err := c.GetReport(ctx, wxads.ReportRequest{UserActionSetID: set, StartDate: "2025-03-09", EndDate: "2025-03-10",
		TimeGranularity: wxads.GranularityDaily, Aggregation: wxads.AggregationActionType})
	if err != nil {
		t.Fatal(err)
	}
	wantDaily := []wxads.ReportRow{
		{Date: "2025-03-09", ActionType: "COMPLETE_ORDER", RawActionCount: 1, IdentifiedActionCount: 1, IdentifiedUserCount: 1},
		{Date: "2025-03-10", ActionType: "COMPLETE_ORDER", RawActionCount: 3, IdentifiedActionCount: 2, IdentifiedUserCount: 2},
		{Date: "2025-03-10", ActionType: "RESERVATION", RawActionCount: 1, IdentifiedActionCount: 1, IdentifiedUserCount: 1},
	}
	if !reflect.DeepEqual(daily, wantDaily) {
		t.Errorf("daily\n got %+v\nwant %+v", daily, wantDaily)
	}
	hourly, err := c.GetReport(ctx, wxads.ReportRequest{UserActionSetID: set, StartDate: "2025-03-10", EndDate: "2025-03-10",
		TimeGranularity: wxads.GranularityHourly})
	if err != nil {
		t.Fatal(err)
	}
	var hours []string
	for _, row := range hourly {
		if row.Hour == nil {
			t.Fatalf("hourly row without hour: %+v", row)
		}
		hours = append(hours, fmt.Sprintf("%02d:%d/%d", *row.Hour, row.RawActionCount, row.IdentifiedActionCount))
	}
	if got := strings.Join(hours, " "); got != "08:3/2 10:1/1" {
		t.Errorf("hourly %s", got)
	}
	if _, err := c.GetReport(ctx, wxads.ReportRequest{UserActionSetID: set, StartDate: "2025-03-10", EndDate: "2025-03-11"}); wxads.Classify(err) != wxads.ClassPermanent {
		t.Errorf("end after today: %v", err)
	}
}

func TestInputRejectedBeforeSending(t *testing.T) {
	r := newRig(t, nil)
	c := r.client(r.source(false, nil))
	ctx := context.Background()
	good := order(t0, click1, 4000)
	with := func(f func(*wxads.Action)) []wxads.Action { a := good; f(&a); return []wxads.Action{a} }
	many := make([]wxads.Action, 51)
	for i := range many {
		many[i] = good
	}
	huge := make([]wxads.Action, 50)
	for i := range huge {
		huge[i] = with(func(a *wxads.Action) { a.URL = "https://shop.example.com/" + strings.Repeat("x", 1100) })[0]
	}
	cases := map[string]error{
		"set 0":            c.AddActions(ctx, 0, []wxads.Action{good}),
		"no actions":       c.AddActions(ctx, 1, nil),
		"51 actions":       c.AddActions(ctx, 1, many),
		"body over 50 KB":  c.AddActions(ctx, 1, huge),
		"no time":          c.AddActions(ctx, 1, with(func(a *wxads.Action) { a.ActionTime = 0 })),
		"time past 2038":   c.AddActions(ctx, 1, with(func(a *wxads.Action) { a.ActionTime = 1 << 31 })),
		"no type":          c.AddActions(ctx, 1, with(func(a *wxads.Action) { a.ActionType = "" })),
		"no url":           c.AddActions(ctx, 1, with(func(a *wxads.Action) { a.URL = "" })),
		"no click id":      c.AddActions(ctx, 1, with(func(a *wxads.Action) { a.Trace.ClickID = "" })),
		"long click id":    c.AddActions(ctx, 1, with(func(a *wxads.Action) { a.Trace.ClickID = strings.Repeat("w", 65) })),
		"negative value":   c.AddActions(ctx, 1, with(func(a *wxads.Action) { a.ActionParam.Value = -1 })),
		"set without type": func() error { _, err := c.CreateActionSet(ctx, wxads.CreateActionSetRequest{}); return err }(),
		"WEB without name": func() error { _, err := c.CreateActionSet(ctx, wxads.CreateActionSetRequest{Type: "WEB"}); return err }(),
		"long description": func() error {
			_, err := c.CreateActionSet(ctx, wxads.CreateActionSetRequest{Type: "WEB", Name: "n", Description: strings.Repeat("d", 129)})
			return err
		}(),
		"negative set filter": func() error { _, err := c.GetActionSets(ctx, -1); return err }(),
		"report bad date": func() error {
			_, err := c.GetReport(ctx, wxads.ReportRequest{UserActionSetID: 1, StartDate: "2025-3-1", EndDate: "2025-03-02"})
			return err
		}(),
		"report reversed": func() error {
			_, err := c.GetReport(ctx, wxads.ReportRequest{UserActionSetID: 1, StartDate: "2025-03-02", EndDate: "2025-03-01"})
			return err
		}(),
		"report granularity": func() error {
			_, err := c.GetReport(ctx, wxads.ReportRequest{UserActionSetID: 1, StartDate: "2025-03-01", EndDate: "2025-03-01", TimeGranularity: "WEEKLY"})
			return err
		}(),
	}
	for name, err := range cases {
		if !errors.Is(err, wxads.ErrInvalidInput) || wxads.Classify(err) != wxads.ClassPermanent {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, ep := range wxfake.MarketingEndpoints {
		if n := r.fake.Calls(ep); n != 0 {
			t.Errorf("%s called %d times with invalid input", ep, n)
		}
	}
}

// TestAnswerEnvelopes feeds the client answers the fake never gives, to
// pin down the defensive parsing of spec §2.
func TestAnswerEnvelopes(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		wantErr   bool
		wantClass wxads.Class
		wantCode  int64
	}{
		{"errcode 0", 200, `{"errcode":0,"errmsg":"ok","data":{"list":[]}}`, false, wxads.ClassNone, 0},
		{"code 0", 200, `{"code":0,"message":"","data":{"list":[]}}`, false, wxads.ClassNone, 0},
		{"both 0", 200, `{"errcode":0,"code":0,"data":{"list":[]}}`, false, wxads.ClassNone, 0},
		{"errcode as string", 200, `{"errcode":"0","data":{"list":[]}}`, false, wxads.ClassNone, 0},
		{"errcode 0 but code busy", 200, `{"errcode":0,"code":10000,"message":"busy","data":{"list":[]}}`, true, wxads.ClassRetry, 10000},
		{"family-B token expired", 200, `{"code":11000,"message":"token expired"}`, true, wxads.ClassRefreshToken, 11000},
		{"message_cn kept", 200, `{"errcode":900310000,"errmsg":"We are unable...","message_cn":"系统繁忙"}`, true, wxads.ClassRetry, 900310000},
		{"HTML on 200", 200, `<html>captive portal</html>`, true, wxads.ClassRetry, 0},
		{"success without data", 200, `{"errcode":0,"errmsg":""}`, true, wxads.ClassRetry, 0},
		{"503 HTML", 503, `<html>busy</html>`, true, wxads.ClassRetry, 0},
		{"429", 429, ``, true, wxads.ClassRateLimited, 0},
		{"404", 404, `not found`, true, wxads.ClassPermanent, 0},
		{"errcode on a 500", 500, `{"errcode":48001,"errmsg":"api unauthorized"}`, true, wxads.ClassPermanent, 48001},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				if r.URL.Query().Get("version") != "v1.0" || r.URL.Query().Get("access_token") != "tok" {
					t.Errorf("query %q", r.URL.RawQuery)
				}
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}))
			defer hs.Close()
			cl, _ := wxads.NewClient(wxads.Config{BaseURL: hs.URL + "/", Tokens: staticTokens("tok")})
			_, err := cl.GetActionSets(context.Background(), 0)
			if (err != nil) != c.wantErr || wxads.Classify(err) != c.wantClass {
				t.Fatalf("err %v (class %v), want error=%v class %v", err, wxads.Classify(err), c.wantErr, c.wantClass)
			}
			var ae *wxads.APIError
			if c.wantCode != 0 && (!errors.As(err, &ae) || ae.Code != c.wantCode) {
				t.Errorf("err %v, want code %d", err, c.wantCode)
			}
			if c.name == "message_cn kept" && !strings.Contains(err.Error(), "系统繁忙") {
				t.Errorf("message_cn lost: %v", err)
			}
			if c.wantClass == wxads.ClassRefreshToken && calls != 2 {
				t.Errorf("%d calls on a rejected token, want 2", calls)
			}
		})
	}
}

func TestPostsCarryJSONContentType(t *testing.T) {
	var got []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"","data":{"user_action_set_id":7,"list":[]}}`)
	}))
	defer hs.Close()
	cl, _ := wxads.NewClient(wxads.Config{BaseURL: hs.URL, Tokens: staticTokens("tok")})
	ctx := context.Background()
	if _, err := cl.CreateActionSet(ctx, wxads.CreateActionSetRequest{Type: "WEB", Name: "n"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.AddActions(ctx, 7, []wxads.Action{order(t0, click1, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetActionSets(ctx, 7); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST /marketing/user_action_sets/add application/json",
		"POST /marketing/user_actions/add application/json",
		"GET /marketing/user_action_sets/get ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests\n got %q\nwant %q", got, want)
	}
}
