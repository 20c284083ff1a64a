package wxfake_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

const oaApp, oaSecret = "wxoa00000000001", "oa-secret"

// cube calls a datacube endpoint with begin/end dates.
func (e *env) cube(ep, token, begin, end string) answer {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"begin_date": begin, "end_date": end})
	_, a := e.do("POST", "/datacube/"+ep, url.Values{"access_token": {token}}, "application/json", string(b))
	return a
}

// top is the top-level list of a datacube answer (no data envelope).
func (a answer) top() []answer {
	l, _ := a["list"].([]any)
	out := make([]answer, len(l))
	for i, x := range l {
		m, _ := x.(map[string]any)
		out[i] = answer(m)
	}
	return out
}

func newCubeEnv(t *testing.T, now time.Time) (*env, string, string) {
	t.Helper()
	e := newEnv(t, func(o *wxfake.Options) {
		o.Apps = append(o.Apps, wxfake.App{AppID: oaApp, Secret: oaSecret, Kind: wxfake.KindOfficialAccount})
	})
	e.clock.Set(now)
	return e, e.stableToken(app1, secret1), e.stableToken(oaApp, oaSecret)
}

func TestDatacubeRules(t *testing.T) {
	// 2025-12-10 11:00 in GMT+8: yesterday is 2025-12-09, both families ready.
	e, mini, oa := newCubeEnv(t, time.Date(2025, 12, 10, 3, 0, 0, 0, time.UTC))
	tests := []struct {
		name, ep, token, begin, end string
		code                        int64
	}{
		{"one day", wxfake.EndpointVisitPage, mini, "20251209", "20251209", 0},
		{"two days", wxfake.EndpointVisitPage, mini, "20251208", "20251209", 61501},
		{"today", wxfake.EndpointDailyVisitTrend, mini, "20251210", "20251210", 61501},
		{"dashed date on mini", wxfake.EndpointDailySummary, mini, "2025-12-09", "2025-12-09", 61500},
		{"compact date on oa", wxfake.EndpointArticleRead, oa, "20251209", "20251209", 61500},
		{"oa token on mini path", wxfake.EndpointVisitDistrib, oa, "20251209", "20251209", 40001},
		{"mini token on oa path", wxfake.EndpointUserSummary, mini, "2025-12-09", "2025-12-09", 40001},
		{"user summary 7 days", wxfake.EndpointUserSummary, oa, "2025-12-03", "2025-12-09", 0},
		{"user summary 8 days", wxfake.EndpointUserSummary, oa, "2025-12-02", "2025-12-09", 61501},
		{"biz summary 30 days", wxfake.EndpointBizSummary, oa, "2025-11-10", "2025-12-09", 0},
		{"article read 2 days", wxfake.EndpointArticleRead, oa, "2025-12-08", "2025-12-09", 61501},
		{"no token", wxfake.EndpointVisitPage, "", "20251209", "20251209", 41001},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, e.cube(tc.ep, tc.token, tc.begin, tc.end), tc.code)
		})
	}
	_, a := e.do("GET", "/datacube/"+wxfake.EndpointVisitPage, url.Values{"access_token": {mini}}, "", "")
	wantCode(t, a, 43002)
	_, a = e.do("POST", "/datacube/"+wxfake.EndpointVisitPage, url.Values{"access_token": {mini}}, "application/json", `{"begin_date":"20251209"}`)
	wantCode(t, a, 47001)
}

func TestDatacubeReadiness(t *testing.T) {
	// 2025-12-10 07:00 in GMT+8: before both ready hours.
	e, mini, oa := newCubeEnv(t, time.Date(2025, 12, 9, 23, 0, 0, 0, time.UTC))
	wantCode(t, e.cube(wxfake.EndpointDailySummary, mini, "20251209", "20251209"), 61503)
	wantCode(t, e.cube(wxfake.EndpointDailySummary, mini, "20251208", "20251208"), 0)
	if l := e.cube(wxfake.EndpointUserCumulate, oa, "2025-12-08", "2025-12-08").top(); len(l) != 1 {
		t.Fatalf("getusercumulate of an older day = %v, want one row", l)
	}
	if l := e.cube(wxfake.EndpointUserCumulate, oa, "2025-12-09", "2025-12-09").top(); len(l) != 0 {
		t.Fatalf("getusercumulate before 08:00 = %v, want an empty list", l)
	}
	if a := e.cube(wxfake.EndpointArticleRead, oa, "2025-12-09", "2025-12-09"); a["is_delay"] != true {
		t.Fatalf("getarticleread before 08:00: is_delay = %v, want true", a["is_delay"])
	}
	e.clock.Advance(3 * time.Hour) // 10:00; the old tokens have expired
	mini, oa = e.stableToken(app1, secret1), e.stableToken(oaApp, oaSecret)
	wantCode(t, e.cube(wxfake.EndpointDailySummary, mini, "20251209", "20251209"), 0)
	if a := e.cube(wxfake.EndpointArticleRead, oa, "2025-12-09", "2025-12-09"); a["is_delay"] != false || len(a.top()) == 0 {
		t.Fatalf("getarticleread at 10:00 = %v, want is_delay false and articles", a)
	}
	if l := e.cube(wxfake.EndpointArticleRead, oa, "2025-10-31", "2025-10-31").top(); len(l) != 0 {
		t.Fatalf("getarticleread before 2025-11-01 = %v, want an empty list", l)
	}
}

func TestDatacubeContent(t *testing.T) {
	e, mini, oa := newCubeEnv(t, time.Date(2025, 12, 10, 3, 0, 0, 0, time.UTC))
	a := e.cube(wxfake.EndpointVisitPage, mini, "20251209", "20251209")
	if _, has := a["errcode"]; has {
		t.Fatalf("success carries errcode: %v", a)
	}
	if len(a.top()) == 0 {
		t.Fatalf("getVisitPage = %v, want pages", a)
	}
	prev := int64(1 << 62)
	for _, row := range a.top() {
		if pv := row.int("page_visit_pv"); pv > prev {
			t.Fatalf("visit pages not sorted by pv: %v", a.top())
		} else {
			prev = pv
		}
	}
	if again := e.cube(wxfake.EndpointVisitPage, mini, "20251209", "20251209"); !reflect.DeepEqual(a, again) {
		t.Fatal("two pulls of one day differ")
	}
	if n := len(e.cube(wxfake.EndpointVisitDistrib, mini, "20251209", "20251209").top()); n != 4 {
		t.Fatalf("distribution has %d index blocks, want 4", n)
	}
	total := e.cube(wxfake.EndpointArticleTotalDet, oa, "2025-12-01", "2025-12-01").top()
	if len(total) == 0 || total[0].str("content_url") == "" || total[0].str("title") == "" {
		t.Fatalf("getarticletotaldetail = %v, want articles with title and content_url", total)
	}
	// Published 2025-12-01, yesterday 2025-12-09: nine statistics days.
	if n := len(total[0]["detail_list"].([]any)); n != 9 {
		t.Fatalf("detail_list has %d days, want 9", n)
	}
}

func TestDatacubeUnverifiedAccount(t *testing.T) {
	e := newEnv(t, func(o *wxfake.Options) {
		o.Apps = append(o.Apps, wxfake.App{AppID: oaApp, Secret: oaSecret, Kind: wxfake.KindOfficialAccount, Unverified: true})
	})
	e.clock.Set(time.Date(2025, 12, 10, 3, 0, 0, 0, time.UTC))
	wantCode(t, e.cube(wxfake.EndpointUserSummary, e.stableToken(oaApp, oaSecret), "2025-12-09", "2025-12-09"), 48001)
}

func TestDatacubeFaults(t *testing.T) {
	e, mini, _ := newCubeEnv(t, time.Date(2025, 12, 10, 3, 0, 0, 0, time.UTC))
	if err := e.srv.Script(wxfake.EndpointVisitPage, wxfake.Fault{Kind: wxfake.FaultErrcode, Code: 61503}, wxfake.Fault{Kind: wxfake.FaultSystemBusy}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.cube(wxfake.EndpointVisitPage, mini, "20251209", "20251209"), 61503)
	wantCode(t, e.cube(wxfake.EndpointVisitPage, mini, "20251209", "20251209"), -1)
	wantCode(t, e.cube(wxfake.EndpointVisitPage, mini, "20251209", "20251209"), 0)
	if n := e.srv.Calls(wxfake.EndpointVisitPage); n != 3 {
		t.Fatalf("Calls = %d, want 3", n)
	}
}
