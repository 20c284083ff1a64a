package wxfake_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// addOne sends one valid action and returns the HTTP status, the answer
// and the transport error.
func (e *env) addOne(tok string, set int64) (int, answer, error) {
	body := fmt.Sprintf(`{"user_action_set_id":%d,"actions":[{"action_time":%d,"action_type":"COMPLETE_ORDER","url":"u","trace":{"click_id":%q}}]}`, set, t0.Unix(), click1)
	return e.try("POST", "/marketing/user_actions/add", url.Values{"version": {"v1.0"}, "access_token": {tok}}, "application/json", body)
}

func TestScriptedErrcodeFaults(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	cases := []struct {
		fault wxfake.Fault
		code  int64
	}{
		{wxfake.Fault{Kind: wxfake.FaultSystemBusy}, -1},
		{wxfake.Fault{Kind: wxfake.FaultUnavailable}, 900310000},
		{wxfake.Fault{Kind: wxfake.FaultMinuteQuota}, 45011},
		{wxfake.Fault{Kind: wxfake.FaultDailyQuota}, 45009},
		{wxfake.Fault{Kind: wxfake.FaultUnauthorized}, 48001},
		{wxfake.Fault{Kind: wxfake.FaultCrossEntity}, 900351001},
		{wxfake.Fault{Kind: wxfake.FaultErrcode, Code: 900318001, Msg: "odd"}, 900318001},
	}
	for _, c := range cases {
		t.Run(string(c.fault.Kind), func(t *testing.T) {
			e := e.with(t)
			e.srv.ResetActions()
			if err := e.srv.Script(wxfake.EndpointActionsAdd, c.fault, wxfake.Fault{}); err != nil {
				t.Fatal(err)
			}
			status, a, err := e.addOne(tok, set)
			if err != nil || status != 200 {
				t.Fatalf("HTTP %d, %v", status, err)
			}
			wantCode(t, a, c.code)
			if c.code == 900310000 && a.str("message_cn") == "" {
				t.Error("900310000 without message_cn")
			}
			if n := len(e.srv.Actions()); n != 0 {
				t.Errorf("faulted call recorded %d actions", n)
			}
			_, a, _ = e.addOne(tok, set) // FaultNone passes the next call
			wantCode(t, a, 0)
		})
	}
}

func TestHTTP502Fault(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	if err := e.srv.Script(wxfake.EndpointActionsAdd, wxfake.Fault{Kind: wxfake.FaultHTTP502}); err != nil {
		t.Fatal(err)
	}
	status, _, err := e.addOne(tok, set)
	if status != 502 || err == nil {
		t.Errorf("status %d err %v, want 502 with a non-JSON body", status, err)
	}
	if len(e.srv.Actions()) != 0 {
		t.Error("502 recorded the action")
	}
}

func TestDropAfterRecord(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)
	if err := e.srv.Script(wxfake.EndpointActionsAdd, wxfake.Fault{Kind: wxfake.FaultDropAfterRecord}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.addOne(tok, set); err == nil {
		t.Fatal("dropped connection answered")
	}
	if n := len(e.srv.Actions()); n != 1 {
		t.Fatalf("%d actions recorded, want 1: the drop happens after recording", n)
	}
	// A naive retry duplicates it, which is what tests must be able to see.
	if _, a, err := e.addOne(tok, set); err != nil || a.code() != 0 {
		t.Fatalf("retry: %v %v", a, err)
	}
	if n := len(e.srv.Actions()); n != 2 {
		t.Errorf("%d actions, want 2", n)
	}
}

func TestSlowFault(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	set := e.webSet(tok)

	// A caller that gives up first leaves nothing recorded, and the handler
	// returns as soon as it hangs up (else hs.Close would block).
	if err := e.srv.Script(wxfake.EndpointActionsAdd, wxfake.Fault{Kind: wxfake.FaultSlow, Delay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	impatient := &http.Client{Timeout: 50 * time.Millisecond}
	body := fmt.Sprintf(`{"user_action_set_id":%d,"actions":[{"action_time":%d,"action_type":"COMPLETE_ORDER","url":"u"}]}`, set, t0.Unix())
	req, _ := http.NewRequest("POST", e.hs.URL+"/marketing/user_actions/add?version=v1.0&access_token="+url.QueryEscape(tok), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	_, err := impatient.Do(req)
	var ue *url.Error
	if !errors.As(err, &ue) || !ue.Timeout() {
		t.Fatalf("err %v, want a client timeout", err)
	}
	if len(e.srv.Actions()) != 0 {
		t.Error("abandoned slow call recorded its action")
	}

	// A patient caller gets the normal answer after the delay.
	if err := e.srv.Script(wxfake.EndpointActionsAdd, wxfake.Fault{Kind: wxfake.FaultSlow, Delay: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, a, err := e.addOne(tok, set); err != nil || a.code() != 0 {
		t.Fatalf("slow call: %v %v", a, err)
	}
	if len(e.srv.Actions()) != 1 {
		t.Error("slow call not recorded")
	}
}

func TestRandomFaults(t *testing.T) {
	codes := func(rate float64, seed uint64) []int64 {
		e := newEnv(t, func(o *wxfake.Options) {
			o.FaultRate, o.FaultSeed = rate, seed
			o.FaultKinds = []wxfake.FaultKind{wxfake.FaultSystemBusy, wxfake.FaultUnavailable}
		})
		tok := e.stableToken(app1, secret1) // token endpoints are not faulted by default
		if err := e.srv.SetRandomFaults(0); err != nil {
			t.Fatal(err)
		}
		set := e.webSet(tok)
		if err := e.srv.SetRandomFaults(rate); err != nil {
			t.Fatal(err)
		}
		var out []int64
		for range 100 {
			_, a, err := e.addOne(tok, set)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, a.code())
		}
		return out
	}
	all := codes(1, 1)
	for _, c := range all {
		if c != -1 && c != 900310000 {
			t.Fatalf("rate 1 let a call through: %v", all)
		}
	}
	a, b := codes(0.3, 42), codes(0.3, 42)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("same seed, different fault sequence")
	}
	faulted := 0
	for _, c := range a {
		if c != 0 {
			faulted++
		}
	}
	if faulted < 15 || faulted > 45 {
		t.Errorf("%d of 100 calls faulted at rate 0.3", faulted)
	}
}

func TestScriptTokenEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.srv.Script(wxfake.EndpointStableToken, wxfake.Fault{Kind: wxfake.FaultSystemBusy}); err != nil {
		t.Fatal(err)
	}
	if e.srv.Pending(wxfake.EndpointStableToken) != 1 {
		t.Error("Pending")
	}
	wantCode(t, e.stable(app1, secret1, false), -1)
	e.stableToken(app1, secret1)
	if got := e.srv.Calls(wxfake.EndpointStableToken); got != 2 {
		t.Errorf("Calls %d, want 2", got)
	}
}

func TestConfigErrors(t *testing.T) {
	e := newEnv(t, nil)
	for name, err := range map[string]error{
		"unknown endpoint": e.srv.Script("nope", wxfake.Fault{}),
		"unknown kind":     e.srv.Script(wxfake.EndpointActionsAdd, wxfake.Fault{Kind: "meteor"}),
		"errcode 0":        e.srv.Script(wxfake.EndpointActionsAdd, wxfake.Fault{Kind: wxfake.FaultErrcode}),
		"rate > 1":         e.srv.SetRandomFaults(1.5),
		"duplicate app":    e.srv.AddApp(wxfake.App{AppID: app1, Secret: "x"}),
		"app w/o secret":   e.srv.AddApp(wxfake.App{AppID: "wxnew"}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, opts := range map[string]wxfake.Options{
		"rate":     {FaultRate: -0.1},
		"kind":     {FaultKinds: []wxfake.FaultKind{"meteor"}},
		"endpoint": {FaultEndpoints: []string{"nope"}},
		"app":      {Apps: []wxfake.App{{AppID: "a", Secret: "s"}, {AppID: "a", Secret: "s"}}},
	} {
		if _, err := wxfake.New(opts); err == nil {
			t.Errorf("New with bad %s: accepted", name)
		}
	}
	status, _ := e.do("GET", "/marketing/nope", nil, "", "")
	if status != 404 {
		t.Errorf("unknown path: HTTP %d", status)
	}
}

func TestParseApp(t *testing.T) {
	a, err := wxfake.ParseApp("wxabc:se:cret:1001")
	if err != nil || a.AppID != "wxabc" || a.Secret != "se:cret" || a.AccountID != 1001 {
		t.Errorf("%+v %v", a, err)
	}
	for _, bad := range []string{"", "wxabc", "wxabc:secret", "wxabc:secret:x", ":secret:1", "wxabc::1", "wxabc:s:-1"} {
		if _, err := wxfake.ParseApp(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
