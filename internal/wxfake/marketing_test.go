package wxfake_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

const (
	click1 = "wx0ewinbalytptma00" // 18 characters, as observed
	click2 = "wx0vnret2znwpts4"   // 16 characters
)

func TestMalformedJSON(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	q := url.Values{"version": {"v1.0"}, "access_token": {tok}}
	good := fmt.Sprintf(`{"user_action_set_id":%d,"actions":[{"action_time":%d,"action_type":"COMPLETE_ORDER","url":"u","trace":{"click_id":"%s"}}]}`, set, t0.Unix(), click1)
	cases := []struct {
		name, ep, contentType, body string
	}{
		{"no Content-Type", "user_actions/add", "", good},
		{"text/plain", "user_actions/add", "text/plain", good},
		{"form", "user_action_sets/add", "application/x-www-form-urlencoded", `{"type":"WEB","name":"x"}`},
		{"invalid JSON", "user_actions/add", "application/json", `{"actions":[`},
		{"trailing garbage", "user_actions/add", "application/json", good + "x"},
		{"top level array", "user_actions/add", "application/json", `[]`},
		{"empty body", "user_actions/add", "application/json", ``},
		{"actions missing", "user_actions/add", "application/json", fmt.Sprintf(`{"user_action_set_id":%d}`, set)},
		{"actions an object", "user_actions/add", "application/json", fmt.Sprintf(`{"user_action_set_id":%d,"actions":{"action_type":"COMPLETE_ORDER"}}`, set)},
		{"set id a string", "user_actions/add", "application/json", strings.Replace(good, fmt.Sprint(set), `"`+fmt.Sprint(set)+`"`, 1)},
		{"action_time a string", "user_actions/add", "application/json", strings.Replace(good, fmt.Sprint(t0.Unix()), `"`+fmt.Sprint(t0.Unix())+`"`, 1)},
		{"action_time a float", "user_actions/add", "application/json", strings.Replace(good, fmt.Sprint(t0.Unix()), fmt.Sprint(t0.Unix())+".5", 1)},
		{"click_id false", "user_actions/add", "application/json", strings.Replace(good, `"`+click1+`"`, "false", 1)},
		{"trace a string", "user_actions/add", "application/json", strings.Replace(good, `{"click_id":"`+click1+`"}`, `"x"`, 1)},
		{"value a string", "user_actions/add", "application/json", strings.Replace(good, `"url":"u"`, `"url":"u","action_param":{"value":"40"}`, 1)},
		{"type a number", "user_action_sets/add", "application/json", `{"type":1,"name":"x"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			status, a := e.do("POST", "/marketing/"+c.ep, q, c.contentType, c.body)
			if status != 200 {
				t.Errorf("HTTP %d", status)
			}
			wantCode(t, a, 900351002)
			if a.msg() != "JSON string is malformed." {
				t.Errorf("errmsg %q", a.msg())
			}
		})
	}
	if n := len(e.srv.Actions()); n != 0 {
		t.Errorf("%d actions recorded from malformed requests", n)
	}
	// The good body passes, proving the cases failed for their own reason.
	_, a := e.do("POST", "/marketing/user_actions/add", q, "application/json; charset=utf-8", good)
	wantCode(t, a, 0)
}

func TestSetsAddValidation(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	cases := []struct {
		name string
		body map[string]any
	}{
		{"type missing", map[string]any{"name": "x"}},
		{"type unknown", map[string]any{"type": "WEBSITE", "name": "x"}},
		{"WEB without name", map[string]any{"type": "WEB"}},
		{"name too long", map[string]any{"type": "WEB", "name": strings.Repeat("n", 33)}},
		{"empty name", map[string]any{"type": "WEB", "name": ""}},
		{"empty description", map[string]any{"type": "WEB", "name": "x", "description": ""}},
		{"description too long", map[string]any{"type": "WEB", "name": "x", "description": strings.Repeat("d", 129)}},
		{"ANDROID without mobile_app_id", map[string]any{"type": "ANDROID", "name": "x"}},
		{"WECHAT without wechat_app_id", map[string]any{"type": "WECHAT", "name": "x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			wantCode(t, e.post("user_action_sets/add", tok, c.body), 900351000)
		})
	}
	a := e.post("user_action_sets/add", tok, map[string]any{"type": "WEB", "name": strings.Repeat("n", 32), "description": strings.Repeat("d", 128)})
	wantCode(t, a, 0)
	if a.msg() != "" {
		t.Errorf("success errmsg %q, want empty", a.msg())
	}
}

func TestOneWebSetPerAccount(t *testing.T) {
	e := newEnv(t, nil)
	tok1 := e.stableToken(app1, secret1)
	id := e.webSet(tok1)
	if id <= 0 {
		t.Fatalf("id %d", id)
	}
	a := e.post("user_action_sets/add", tok1, map[string]any{"type": "WEB", "name": "again"})
	wantCode(t, a, 900351000)
	want := fmt.Sprintf("could create only one web action set for %d with existed one : %d", acct1, id)
	if a.msg() != want {
		t.Errorf("errmsg %q, want %q", a.msg(), want)
	}
	// Other types and other accounts are unaffected.
	wantCode(t, e.post("user_action_sets/add", tok1, map[string]any{"type": "WECHAT_MINI_PROGRAM", "name": "mp", "wechat_app_id": app1}), 0)
	other := e.webSet(e.stableToken(app2, secret2))
	if other == id {
		t.Error("two accounts share a set id")
	}
}

func TestSetsGet(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	tok2 := e.stableToken(app2, secret2)
	id := e.webSet(tok)
	otherID := e.webSet(tok2)

	a := e.get("user_action_sets/get", tok, nil)
	wantCode(t, a, 0)
	list := a.list()
	if len(list) != 1 {
		t.Fatalf("list %v, want only the account's own set", list)
	}
	s := list[0]
	if s.int("user_action_set_id") != id || s.str("type") != "WEB" || s.str("name") != "shop" ||
		s.str("created_time") != "2025-03-10 10:00:00" || s["activate_status"] != false {
		t.Errorf("set %v", s)
	}
	a = e.get("user_action_sets/get", tok, url.Values{"user_action_set_id": {fmt.Sprint(id)}})
	wantCode(t, a, 0)
	if len(a.list()) != 1 {
		t.Errorf("filtered list %v", a.list())
	}
	a = e.get("user_action_sets/get", tok, url.Values{"user_action_set_id": {fmt.Sprint(otherID)}})
	wantCode(t, a, 900351000)
	if want := fmt.Sprintf("action set %d does not belong to this account %d", otherID, acct1); a.msg() != want {
		t.Errorf("errmsg %q, want %q", a.msg(), want)
	}

	wantCode(t, e.post("user_actions/add", tok, map[string]any{"user_action_set_id": id, "actions": []any{action(t0, "COMPLETE_ORDER", click1)}}), 0)
	// The POST form (a PHP SDK's) answers the same, activation included.
	a = e.post("user_action_sets/get", tok, map[string]any{"user_action_set_id": id})
	wantCode(t, a, 0)
	if got := a.list(); len(got) != 1 || got[0]["activate_status"] != true {
		t.Errorf("after an action: %v, want activate_status true", got)
	}
}

func TestActionsAddValidation(t *testing.T) {
	e := newEnv(t, func(o *wxfake.Options) {
		o.ActionTypes = []string{"COMPLETE_ORDER", "RESERVATION", "CONFIRM_EFFECTIVE_LEADS"}
	})
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	otherSet := e.webSet(e.stableToken(app2, secret2))
	many := make([]any, 51)
	for i := range many {
		many[i] = action(t0, "COMPLETE_ORDER", click1)
	}
	noURL := action(t0, "COMPLETE_ORDER", click1)
	delete(noURL, "url")
	noType := action(t0, "COMPLETE_ORDER", click1)
	delete(noType, "action_type")
	cases := []struct {
		name    string
		body    map[string]any
		wantMsg string
	}{
		{"other account's set", map[string]any{"user_action_set_id": otherSet, "actions": []any{action(t0, "COMPLETE_ORDER", click1)}},
			fmt.Sprintf("action set %d does not belong to this account %d", otherSet, acct1)},
		{"unknown set", map[string]any{"user_action_set_id": 42, "actions": []any{action(t0, "COMPLETE_ORDER", click1)}},
			fmt.Sprintf("action set 42 does not belong to this account %d", acct1)},
		{"no set id anywhere", map[string]any{"actions": []any{action(t0, "COMPLETE_ORDER", click1)}}, "user_action_set_id is required"},
		{"no actions", map[string]any{"user_action_set_id": set, "actions": []any{}}, "actions must hold 1 to 50 items, got 0"},
		{"51 actions", map[string]any{"user_action_set_id": set, "actions": many}, "actions must hold 1 to 50 items, got 51"},
		{"type outside the set", map[string]any{"user_action_set_id": set, "actions": []any{action(t0, "PURCHASE", click1)}}, `invalid action_type "PURCHASE"`},
		{"no type", map[string]any{"user_action_set_id": set, "actions": []any{noType}}, "action_type is required"},
		{"no url", map[string]any{"user_action_set_id": set, "actions": []any{noURL}}, "url is required"},
		{"time out of range", map[string]any{"user_action_set_id": set, "actions": []any{action(time.Unix(1<<31, 0), "COMPLETE_ORDER", click1)}}, "out of range"},
		{"second action bad", map[string]any{"user_action_set_id": set, "actions": []any{action(t0, "COMPLETE_ORDER", click1), noURL}}, "actions[1]: url is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			a := e.post("user_actions/add", tok, c.body)
			wantCode(t, a, 900351000)
			if !strings.Contains(a.msg(), c.wantMsg) {
				t.Errorf("errmsg %q, want it to contain %q", a.msg(), c.wantMsg)
			}
		})
	}
	if n := len(e.srv.Actions()); n != 0 {
		t.Errorf("%d actions recorded from rejected batches, want 0 (all-or-nothing)", n)
	}
	// Per-action set ids (the official-account shape) are accepted too.
	per := action(t0, "RESERVATION", click1)
	per["user_action_set_id"] = set
	wantCode(t, e.post("user_actions/add", tok, map[string]any{"actions": []any{per}}), 0)
	if got := e.srv.Actions(); len(got) != 1 || got[0].UserActionSetID != set {
		t.Errorf("per-action shape recorded %+v", got)
	}
}

func TestActionRulesOfOtherTypes(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	web := e.webSet(tok)
	a := e.post("user_action_sets/add", tok, map[string]any{"type": "WECHAT_MINI_PROGRAM", "name": "mp", "wechat_app_id": app1})
	wantCode(t, a, 0)
	mp := a.data().int("user_action_set_id")

	custom := action(t0, "CUSTOM", click1)
	a = e.post("user_actions/add", tok, map[string]any{"user_action_set_id": web, "actions": []any{custom}})
	wantCode(t, a, 900351000)
	custom["custom_action"] = "SIGN_UP_BONUS"
	wantCode(t, e.post("user_actions/add", tok, map[string]any{"user_action_set_id": web, "actions": []any{custom}}), 0)

	byUser := action(t0, "COMPLETE_ORDER", click1)
	a = e.post("user_actions/add", tok, map[string]any{"user_action_set_id": mp, "actions": []any{byUser}})
	wantCode(t, a, 900351000)
	if !strings.Contains(a.msg(), "user_id") {
		t.Errorf("errmsg %q", a.msg())
	}
	byUser["user_id"] = map[string]any{"wechat_openid": "o-1", "wechat_app_id": app1}
	wantCode(t, e.post("user_actions/add", tok, map[string]any{"user_action_set_id": mp, "actions": []any{byUser}}), 0)
}

func TestActionsBodyLimit(t *testing.T) {
	e := newEnv(t, func(o *wxfake.Options) { o.MaxBodyBytes = 1024 })
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	big := action(t0, "COMPLETE_ORDER", click1)
	big["url"] = "https://shop.example.com/" + strings.Repeat("p", 1024)
	a := e.post("user_actions/add", tok, map[string]any{"user_action_set_id": set, "actions": []any{big}})
	wantCode(t, a, 900351000)
	if !strings.Contains(a.msg(), "exceeds 1024 bytes") {
		t.Errorf("errmsg %q", a.msg())
	}
}

func TestSilentSuccess(t *testing.T) {
	cases := []struct {
		name           string
		action         map[string]any
		wellFormedOnly bool // Options.IdentifyWellFormed
		wantIdentified bool
	}{
		{"known click", action(t0, "COMPLETE_ORDER", click1), false, true},
		{"known 16-char click", action(t0, "COMPLETE_ORDER", click2), false, true},
		{"unknown well-formed click", action(t0, "COMPLETE_ORDER", "wx0grqr5bhg4cig6"), false, false},
		{"unknown well-formed click, IdentifyWellFormed", action(t0, "COMPLETE_ORDER", "wx0grqr5bhg4cig6"), true, true},
		{"registered but garbage", action(t0, "COMPLETE_ORDER", "abcde"), false, false},
		{"uppercase", action(t0, "COMPLETE_ORDER", strings.ToUpper(click1)), true, false},
		{"empty click", action(t0, "COMPLETE_ORDER", ""), true, false},
		{"click_id outside trace", map[string]any{"action_time": t0.Unix(), "action_type": "COMPLETE_ORDER", "url": "u", "click_id": click1}, true, false},
		{"trace misspelt", map[string]any{"action_time": t0.Unix(), "action_type": "COMPLETE_ORDER", "url": "u", "trcae": map[string]any{"click_id": click1}}, true, false},
		{"action_time misspelt", map[string]any{"actoin_time": t0.Unix(), "action_type": "COMPLETE_ORDER", "url": "u", "trace": map[string]any{"click_id": click1}}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(o *wxfake.Options) { o.IdentifyWellFormed = c.wellFormedOnly })
			e.srv.AddClick(click1, click2, "abcde")
			tok := e.stableToken(app1, secret1)
			set := e.webSet(tok)
			a := e.post("user_actions/add", tok, map[string]any{"user_action_set_id": set, "actions": []any{c.action}})
			wantCode(t, a, 0) // always: the platform does not validate attribution inputs
			got := e.srv.Actions()
			if len(got) != 1 {
				t.Fatalf("%d actions recorded", len(got))
			}
			if got[0].Identified != c.wantIdentified {
				t.Errorf("identified %v, want %v (%+v)", got[0].Identified, c.wantIdentified, got[0])
			}
		})
	}
}

func TestActionTimeStampedWhenMissing(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	e.clock.Advance(90 * time.Second)
	wantCode(t, e.post("user_actions/add", tok, map[string]any{"user_action_set_id": set, "actions": []any{
		map[string]any{"action_type": "COMPLETE_ORDER", "url": "u"},
	}}), 0)
	got := e.srv.Actions()[0]
	if !got.ActionTimeStamped || got.ActionTime != t0.Add(90*time.Second).Unix() || !got.ArrivedAt.Equal(t0.Add(90*time.Second)) {
		t.Errorf("recorded %+v, want action_time stamped with arrival", got)
	}
}

func TestStrictFutureActionTime(t *testing.T) {
	e := newEnv(t, func(o *wxfake.Options) { o.MaxFutureSkew = 10 * time.Second })
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	add := func(at time.Time) answer {
		return e.post("user_actions/add", tok, map[string]any{"user_action_set_id": set, "actions": []any{action(at, "COMPLETE_ORDER", click1)}})
	}
	wantCode(t, add(t0.Add(11*time.Second)), 900351000)
	wantCode(t, add(t0.Add(10*time.Second)), 0)
	wantCode(t, add(t0.Add(-30*24*time.Hour)), 0) // back-fill is allowed
}

func TestDedupOuterActionID(t *testing.T) {
	for _, dedup := range []bool{false, true} {
		t.Run(fmt.Sprint("dedup=", dedup), func(t *testing.T) {
			e := newEnv(t, func(o *wxfake.Options) { o.DedupOuterActionID = dedup })
			tok := e.stableToken(app1, secret1)
			set := e.webSet(tok)
			act := action(t0, "COMPLETE_ORDER", click1)
			act["outer_action_id"] = "order-1"
			for range 2 {
				wantCode(t, e.post("user_actions/add", tok, map[string]any{"user_action_set_id": set, "actions": []any{act}}), 0)
			}
			got := e.srv.Actions()
			if len(got) != 2 || got[0].Duplicate || got[1].Duplicate != dedup {
				t.Errorf("recorded %+v, want the second marked duplicate=%v", got, dedup)
			}
			rows := e.get("user_action_set_reports/get", tok, url.Values{
				"user_action_set_id": {fmt.Sprint(set)}, "date_range": {`{"start_date":"2025-03-10","end_date":"2025-03-10"}`},
				"time_granularity": {"DAILY"},
			}).list()
			want := int64(2)
			if dedup {
				want = 1
			}
			if len(rows) != 1 || rows[0].int("raw_action_count") != want {
				t.Errorf("report %v, want raw_action_count %d", rows, want)
			}
		})
	}
}

func TestInspectionEndpoints(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	e.clock.Advance(5 * time.Second)
	wantCode(t, e.post("user_actions/add", tok, map[string]any{"user_action_set_id": set, "actions": []any{action(t0, "COMPLETE_ORDER", click1)}}), 0)

	resp, err := e.hs.Client().Get(e.hs.URL + "/_fake/actions")
	if err != nil {
		t.Fatal(err)
	}
	var list []struct {
		Seq             int64           `json:"seq"`
		UserActionSetID int64           `json:"user_action_set_id"`
		ArrivedAt       time.Time       `json:"arrived_at"`
		ActionTime      int64           `json:"action_time"`
		Raw             json.RawMessage `json:"raw"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].UserActionSetID != set || !list[0].ArrivedAt.Equal(t0.Add(5*time.Second)) || list[0].ActionTime != t0.Unix() {
		t.Fatalf("/_fake/actions %+v", list)
	}
	var raw map[string]any
	if err := json.Unmarshal(list[0].Raw, &raw); err != nil || raw["url"] != "https://shop.example.com/pay" {
		t.Errorf("raw %s", list[0].Raw)
	}

	_, a := e.do("POST", "/_fake/clicks", nil, "application/json", `{"click_ids":["`+click2+`"]}`)
	wantCode(t, a, 0)
	wantCode(t, e.post("user_actions/add", tok, map[string]any{"user_action_set_id": set, "actions": []any{action(t0, "COMPLETE_ORDER", click2)}}), 0)
	if got := e.srv.Actions(); len(got) != 2 || !got[1].Identified || got[0].Identified {
		t.Errorf("clicks registered over HTTP: %+v", got)
	}

	_, a = e.do("POST", "/_fake/faults", nil, "application/json", `{"endpoint":"user_actions/add","faults":[{"kind":"system_busy"}]}`)
	wantCode(t, a, 0)
	wantCode(t, e.post("user_actions/add", tok, map[string]any{"user_action_set_id": set, "actions": []any{action(t0, "COMPLETE_ORDER", click2)}}), -1)
	status, _ := e.do("POST", "/_fake/faults", nil, "application/json", `{"endpoint":"nope","faults":[{"kind":"system_busy"}]}`)
	if status != 400 {
		t.Errorf("bad fault script: HTTP %d, want 400", status)
	}

	status, _ = e.do("DELETE", "/_fake/actions", nil, "", "")
	if status != 200 || len(e.srv.Actions()) != 0 {
		t.Errorf("DELETE /_fake/actions: HTTP %d, %d actions left", status, len(e.srv.Actions()))
	}
	if len(e.srv.ActionSets()) != 1 {
		t.Error("ResetActions dropped the data sources")
	}
	status, _ = e.do("POST", "/_fake/reset", nil, "", "")
	if status != 200 || len(e.srv.ActionSets()) != 0 || e.srv.Calls(wxfake.EndpointActionsAdd) != 0 {
		t.Errorf("reset: HTTP %d, sets %v", status, e.srv.ActionSets())
	}
	wantCode(t, e.get("user_action_sets/get", tok, nil), 40014) // tokens forgotten too
	e.stableToken(app1, secret1)                                // apps kept
}

func TestConcurrentCallers(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	const workers, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				body := fmt.Sprintf(`{"user_action_set_id":%d,"actions":[{"action_time":%d,"action_type":"COMPLETE_ORDER","url":"u","trace":{"click_id":%q},"outer_action_id":"%d-%d"}]}`,
					set, t0.Unix(), click1, w, i)
				_, a, err := e.try("POST", "/marketing/user_actions/add", url.Values{"version": {"v1.0"}, "access_token": {tok}}, "application/json", body)
				if err != nil || a.code() != 0 {
					errs <- fmt.Sprint(err, a)
				}
				// Token calls interleave with marketing calls.
				if _, a, err := e.try("POST", "/cgi-bin/stable_token", nil, "application/json",
					`{"grant_type":"client_credential","appid":"`+app1+`","secret":"`+secret1+`"}`); err != nil || a.str("access_token") != tok {
					errs <- fmt.Sprint("stable token changed or failed: ", err, a)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	got := e.srv.Actions()
	seen := map[int64]bool{}
	for _, a := range got {
		seen[a.Seq] = true
	}
	if len(got) != workers*each || len(seen) != workers*each {
		t.Errorf("%d actions with %d distinct seqs, want %d", len(got), len(seen), workers*each)
	}
}
