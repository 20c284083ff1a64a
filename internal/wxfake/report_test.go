package wxfake_test

import (
	"fmt"
	"net/url"
	"reflect"
	"testing"
	"time"
)

func TestReportValidation(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	set := fmt.Sprint(e.webSet(tok))
	other := fmt.Sprint(e.webSet(e.stableToken(app2, secret2)))
	dr := func(s, e string) string { return fmt.Sprintf(`{"start_date":%q,"end_date":%q}`, s, e) }
	cases := []struct {
		name string
		q    url.Values
		want int64
	}{
		{"no set", url.Values{"date_range": {dr("2025-03-10", "2025-03-10")}}, 900351000},
		{"set not a number", url.Values{"user_action_set_id": {"abc"}, "date_range": {dr("2025-03-10", "2025-03-10")}}, 900351000},
		{"other account's set", url.Values{"user_action_set_id": {other}, "date_range": {dr("2025-03-10", "2025-03-10")}}, 900351000},
		{"no date_range", url.Values{"user_action_set_id": {set}}, 900351000},
		{"date_range not JSON", url.Values{"user_action_set_id": {set}, "date_range": {"2025-03-10,2025-03-10"}}, 900351002},
		{"end missing", url.Values{"user_action_set_id": {set}, "date_range": {`{"start_date":"2025-03-10"}`}}, 900351000},
		{"bad format", url.Values{"user_action_set_id": {set}, "date_range": {dr("2025/03/10", "2025-03-10")}}, 900351000},
		{"impossible date", url.Values{"user_action_set_id": {set}, "date_range": {dr("2025-02-30", "2025-03-10")}}, 900351000},
		{"start after end", url.Values{"user_action_set_id": {set}, "date_range": {dr("2025-03-10", "2025-03-09")}}, 900351000},
		{"end after today (GMT+8)", url.Values{"user_action_set_id": {set}, "date_range": {dr("2025-03-10", "2025-03-11")}}, 900351000},
		{"bad granularity", url.Values{"user_action_set_id": {set}, "date_range": {dr("2025-03-10", "2025-03-10")}, "time_granularity": {"WEEKLY"}}, 900351000},
		{"bad aggregation", url.Values{"user_action_set_id": {set}, "date_range": {dr("2025-03-10", "2025-03-10")}, "aggregation": {"CITY"}}, 900351000},
		{"ok", url.Values{"user_action_set_id": {set}, "date_range": {dr("2025-03-01", "2025-03-10")}, "time_granularity": {"DAILY"}, "aggregation": {"ACTION_TYPE"}}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			wantCode(t, e.get("user_action_set_reports/get", tok, c.q), c.want)
		})
	}
	_, a := e.do("POST", "/marketing/user_action_set_reports/get", url.Values{"version": {"v1.0"}, "access_token": {tok}}, "application/json", "{}")
	wantCode(t, a, 43001)
}

// row is a report row flattened for comparison; hour -1 and dim "-" mean
// absent.
type row struct {
	date                     string
	hour                     int64
	dim                      string
	raw, identified, idUsers int64
}

func rowsOf(list []answer, dimKey string) []row {
	out := make([]row, 0, len(list))
	for _, r := range list {
		x := row{date: r.str("date"), hour: -1, dim: "-", raw: r.int("raw_action_count"),
			identified: r.int("identified_action_count"), idUsers: r.int("identified_user_count")}
		if _, ok := r["hour"]; ok {
			x.hour = r.int("hour")
		}
		if v, ok := r[dimKey]; ok {
			x.dim, _ = v.(string)
		}
		out = append(out, x)
	}
	return out
}

func TestReportAggregation(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddClick(click1, click2)
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	at := func(d time.Duration) time.Time { return t0.Add(d) } // t0 is 10:00 GMT+8
	page := action(at(-20*time.Minute), "RESERVATION", click2)
	page["url"] = "pages/index/index"
	lead := action(at(0), "CONFIRM_EFFECTIVE_LEADS", click2)
	lead["user_id"] = map[string]any{"wechat_openid": "o-user-1"}
	actions := []any{
		action(at(-10*time.Hour-30*time.Minute), "COMPLETE_ORDER", click1), // 2025-03-09 23:30
		action(at(-45*time.Minute), "COMPLETE_ORDER", click1),              // 09:15, same user again
		page, // 09:40, no domain
		action(at(-10*time.Minute), "COMPLETE_ORDER", "garbage"), // 09:50, not identified
		lead, // 10:00, identified by openid
	}
	wantCode(t, e.post("user_actions/add", tok, map[string]any{"user_action_set_id": set, "actions": actions}), 0)
	// Another set's actions must not leak in.
	tok2 := e.stableToken(app2, secret2)
	set2 := e.webSet(tok2)
	wantCode(t, e.post("user_actions/add", tok2, map[string]any{"user_action_set_id": set2, "actions": []any{action(t0, "COMPLETE_ORDER", click1)}}), 0)

	report := func(q url.Values) []answer {
		t.Helper()
		q.Set("user_action_set_id", fmt.Sprint(set))
		a := e.get("user_action_set_reports/get", tok, q)
		wantCode(t, a, 0)
		return a.list()
	}
	cases := []struct {
		name   string
		q      url.Values
		dimKey string
		want   []row
	}{
		{"daily by action type", url.Values{"date_range": {`{"start_date":"2025-03-09","end_date":"2025-03-10"}`}, "time_granularity": {"DAILY"}, "aggregation": {"ACTION_TYPE"}}, "action_type", []row{
			{"2025-03-09", -1, "COMPLETE_ORDER", 1, 1, 1},
			{"2025-03-10", -1, "COMPLETE_ORDER", 2, 1, 1},
			{"2025-03-10", -1, "CONFIRM_EFFECTIVE_LEADS", 1, 1, 1},
			{"2025-03-10", -1, "RESERVATION", 1, 1, 1},
		}},
		{"daily totals", url.Values{"date_range": {`{"start_date":"2025-03-10","end_date":"2025-03-10"}`}, "time_granularity": {"DAILY"}}, "", []row{
			{"2025-03-10", -1, "-", 4, 3, 3},
		}},
		{"hourly by domain (hourly is the default)", url.Values{"date_range": {`{"start_date":"2025-03-10","end_date":"2025-03-10"}`}, "aggregation": {"DOMAIN"}}, "domain", []row{
			{"2025-03-10", 9, "", 1, 1, 1},
			{"2025-03-10", 9, "shop.example.com", 2, 1, 1},
			{"2025-03-10", 10, "shop.example.com", 1, 1, 1},
		}},
		{"empty range", url.Values{"date_range": {`{"start_date":"2025-03-01","end_date":"2025-03-08"}`}, "time_granularity": {"DAILY"}}, "", []row{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rowsOf(report(c.q), c.dimKey)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("rows\n got %v\nwant %v", got, c.want)
			}
		})
	}
}
