package wxfake_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

func TestClassicTokenErrors(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name   string
		method string
		q      url.Values
		want   int64
	}{
		{"no grant_type", "GET", url.Values{"appid": {app1}, "secret": {secret1}}, 40002},
		{"wrong grant_type", "GET", url.Values{"grant_type": {"password"}, "appid": {app1}, "secret": {secret1}}, 40002},
		{"no appid", "GET", url.Values{"grant_type": {"client_credential"}, "secret": {secret1}}, 41002},
		{"unknown appid", "GET", url.Values{"grant_type": {"client_credential"}, "appid": {"wxnope"}, "secret": {secret1}}, 40013},
		{"no secret", "GET", url.Values{"grant_type": {"client_credential"}, "appid": {app1}}, 41004},
		{"wrong secret", "GET", url.Values{"grant_type": {"client_credential"}, "appid": {app1}, "secret": {"x"}}, 40125},
		{"POST", "POST", url.Values{"grant_type": {"client_credential"}, "appid": {app1}, "secret": {secret1}}, 43001},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			status, a := e.do(c.method, "/cgi-bin/token", c.q, "", "")
			if status != 200 {
				t.Errorf("HTTP %d, want 200 for business errors", status)
			}
			wantCode(t, a, c.want)
			if !strings.Contains(a.msg(), " rid: ") {
				t.Errorf("errmsg %q lacks the rid suffix", a.msg())
			}
		})
	}
}

func TestClassicWrongSecretAs40001(t *testing.T) {
	e := newEnv(t, func(o *wxfake.Options) { o.WrongSecretCode = 40001 })
	a := e.classic(app1, "wrong")
	wantCode(t, a, 40001)
	if !strings.HasPrefix(a.msg(), "invalid credential, access_token is invalid or not latest") {
		t.Errorf("errmsg %q", a.msg())
	}
}

func TestTokenIPWhitelist(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.srv.SetAllowedIPs(app1, "10.1.2.3"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.classic(app1, secret1), 40164)
	wantCode(t, e.stable(app1, secret1, false), 40164)
	if err := e.srv.SetAllowedIPs(app1, "10.1.2.3", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	e.classicToken(app1, secret1)
	e.stableToken(app1, secret1)
	if err := e.srv.SetAllowedIPs("wxnope"); err == nil {
		t.Error("SetAllowedIPs of an unknown app succeeded")
	}
}

func TestClassicDailyQuota(t *testing.T) {
	e := newEnv(t, func(o *wxfake.Options) { o.ClassicDailyLimit = 3 })
	for range 3 {
		e.classicToken(app1, secret1)
	}
	wantCode(t, e.classic(app1, secret1), 45009)
	e.classicToken(app2, secret2) // quotas are per app
	// The day is cut in GMT+8: t0 is 10:00 there, so 14 h later is the next day.
	e.clock.Advance(14 * time.Hour)
	e.classicToken(app1, secret1)
}

func TestClassicRotationAndOverlap(t *testing.T) {
	e := newEnv(t, nil)
	a := e.classic(app1, secret1)
	if a.int("expires_in") != 7200 {
		t.Errorf("expires_in %d, want 7200", a.int("expires_in"))
	}
	tok1 := a.str("access_token")
	tok2 := e.classicToken(app1, secret1)
	if tok1 == tok2 {
		t.Fatal("classic endpoint returned the same token twice; it must mint a new one per call")
	}
	sets := func(tok string) answer { return e.get("user_action_sets/get", tok, nil) }
	wantCode(t, sets(tok1), 0) // inside the overlap
	e.clock.Advance(299 * time.Second)
	wantCode(t, sets(tok1), 0)
	e.clock.Advance(time.Second)
	a = sets(tok1)
	wantCode(t, a, 40001)
	if !strings.HasPrefix(a.msg(), "invalid credential, access_token is invalid or not latest") {
		t.Errorf("errmsg %q", a.msg())
	}
	wantCode(t, sets(tok2), 0)
	e.clock.Advance(7200*time.Second - 300*time.Second)
	wantCode(t, sets(tok2), 42001)
}

func TestStableTokenRequestErrors(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name, method, body string
		want               int64
	}{
		{"GET", "GET", "", 43002},
		{"empty body", "POST", "", 44002},
		{"not JSON", "POST", "grant_type=client_credential", 47001},
		{"force_refresh not bool", "POST", `{"grant_type":"client_credential","appid":"` + app1 + `","secret":"` + secret1 + `","force_refresh":"yes"}`, 47001},
		{"wrong grant", "POST", `{"grant_type":"x","appid":"` + app1 + `","secret":"` + secret1 + `"}`, 40002},
		{"unknown app", "POST", `{"grant_type":"client_credential","appid":"wxnope","secret":"s"}`, 40013},
		{"wrong secret", "POST", `{"grant_type":"client_credential","appid":"` + app1 + `","secret":"s"}`, 40125},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			_, a := e.do(c.method, "/cgi-bin/stable_token", nil, "application/json", c.body)
			wantCode(t, a, c.want)
		})
	}
}

func TestStableTokenSharedAndRotated(t *testing.T) {
	e := newEnv(t, nil)
	a := e.stable(app1, secret1, false)
	tokA := a.str("access_token")
	if a.int("expires_in") != 7200 {
		t.Errorf("first expires_in %d, want 7200", a.int("expires_in"))
	}
	e.clock.Advance(100 * time.Second)
	a = e.stable(app1, secret1, false)
	if a.str("access_token") != tokA || a.int("expires_in") != 7100 {
		t.Fatalf("second call: %v, want the same token with 7100 s left", a)
	}
	// 300 s before expiry the platform rotates; the old token stays valid.
	e.clock.Advance(6801 * time.Second) // 6901 s after minting: 299 s left
	a = e.stable(app1, secret1, false)
	tokB := a.str("access_token")
	if tokB == tokA || a.int("expires_in") != 7200 {
		t.Fatalf("rotation: %v, want a new token with 7200 s", a)
	}
	wantCode(t, e.get("user_action_sets/get", tokA, nil), 0)
	e.clock.Advance(299 * time.Second)
	wantCode(t, e.get("user_action_sets/get", tokA, nil), 42001)
	wantCode(t, e.get("user_action_sets/get", tokB, nil), 0)
}

func TestStableAndClassicAreIsolated(t *testing.T) {
	e := newEnv(t, nil)
	st := e.stableToken(app1, secret1)
	cl := e.classicToken(app1, secret1)
	e.classicToken(app1, secret1) // supersedes cl, not st
	e.stableToken(app1, secret1)  // must not touch cl either
	e.clock.Advance(301 * time.Second)
	wantCode(t, e.get("user_action_sets/get", st, nil), 0)
	wantCode(t, e.get("user_action_sets/get", cl, nil), 40001)
	if e.stableToken(app1, secret1) != st {
		t.Error("a classic call changed the stable token")
	}
}

func TestStableForceRefresh(t *testing.T) {
	e := newEnv(t, func(o *wxfake.Options) { o.ForceRefreshDailyLimit = 2 })
	old := e.stableToken(app1, secret1)
	a := e.stable(app1, secret1, true)
	wantCode(t, a, 0)
	fresh := a.str("access_token")
	if fresh == old {
		t.Fatal("force_refresh returned the old token")
	}
	wantCode(t, e.get("user_action_sets/get", old, nil), 40001) // revoked at once
	wantCode(t, e.get("user_action_sets/get", fresh, nil), 0)

	e.clock.Advance(29 * time.Second)
	wantCode(t, e.stable(app1, secret1, true), 45011) // < 30 s apart
	wantCode(t, e.get("user_action_sets/get", fresh, nil), 0)
	e.clock.Advance(time.Second)
	wantCode(t, e.stable(app1, secret1, true), 0)
	e.clock.Advance(time.Minute)
	wantCode(t, e.stable(app1, secret1, true), 45009) // 2 a day
	e.clock.Advance(24 * time.Hour)
	wantCode(t, e.stable(app1, secret1, true), 0)
}

func TestStableShortLifetime(t *testing.T) {
	// A lifetime shorter than the rotation window must still hand out one
	// token for a while rather than a new one per call.
	e := newEnv(t, func(o *wxfake.Options) { o.TokenLifetime = 60 * time.Second })
	tok := e.stableToken(app1, secret1)
	if e.stableToken(app1, secret1) != tok {
		t.Error("short-lived stable token rotated on the next call")
	}
}

func TestMarketingTokenChecks(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.stableToken(app1, secret1)
	cases := []struct {
		name string
		q    url.Values
		want int64
	}{
		{"missing token", url.Values{"version": {"v1.0"}}, 41001},
		{"unknown token", url.Values{"version": {"v1.0"}, "access_token": {"garbage"}}, 40014},
		{"missing version", url.Values{"access_token": {tok}}, 900351000},
		{"wrong version", url.Values{"access_token": {tok}, "version": {"v3.0"}}, 900351000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			// The body is garbage on purpose: the token is checked first.
			_, a := e.do("POST", "/marketing/user_actions/add", c.q, "text/plain", "{not json")
			wantCode(t, a, c.want)
		})
	}
}
