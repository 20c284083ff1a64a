package wxfake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// t0 is 10:00 in GMT+8 on 2025-03-10.
var t0 = time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)

const (
	app1, secret1, acct1 = "wxapp0000000001", "secret-one", int64(1001)
	app2, secret2, acct2 = "wxapp0000000002", "secret-two", int64(1002)
)

// env is a fake on an httptest server with a settable clock.
type env struct {
	t     *testing.T
	clock *wxfake.Clock
	srv   *wxfake.Server
	hs    *httptest.Server
}

func newEnv(t *testing.T, mod func(*wxfake.Options)) *env {
	t.Helper()
	clock := wxfake.NewClock(t0)
	opts := wxfake.Options{
		Now: clock.Now,
		Apps: []wxfake.App{
			{AppID: app1, Secret: secret1, AccountID: acct1},
			{AppID: app2, Secret: secret2, AccountID: acct2},
		},
	}
	if mod != nil {
		mod(&opts)
	}
	srv, err := wxfake.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &env{t: t, clock: clock, srv: srv, hs: hs}
}

// answer is a decoded JSON object with exact numbers.
type answer map[string]any

func (a answer) code() int64 {
	n, ok := a["errcode"].(json.Number)
	if !ok {
		return 0 // token successes carry no errcode
	}
	v, _ := n.Int64()
	return v
}

func (a answer) msg() string { s, _ := a["errmsg"].(string); return s }

func (a answer) str(key string) string { s, _ := a[key].(string); return s }

func (a answer) int(key string) int64 {
	n, _ := a[key].(json.Number)
	v, _ := n.Int64()
	return v
}

func (a answer) data() answer {
	m, _ := a["data"].(map[string]any)
	return answer(m)
}

func (a answer) list() []answer {
	l, _ := a.data()["list"].([]any)
	out := make([]answer, len(l))
	for i, x := range l {
		m, _ := x.(map[string]any)
		out[i] = answer(m)
	}
	return out
}

// with returns the env bound to a subtest's t, so a failure stops the
// subtest that saw it.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// do sends a request and decodes the JSON answer, failing the test on a
// transport or decoding error.
func (e *env) do(method, path string, q url.Values, contentType string, body string) (int, answer) {
	e.t.Helper()
	status, a, err := e.try(method, path, q, contentType, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return status, a
}

// try is do without failing, for goroutines other than the test's.
func (e *env) try(method, path string, q url.Values, contentType string, body string) (int, answer, error) {
	u := e.hs.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.hs.Client().Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a answer
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: answer %q is not a JSON object: %w", method, path, raw, err)
	}
	return resp.StatusCode, a, nil
}

func (e *env) classic(appid, secret string) answer {
	e.t.Helper()
	_, a := e.do("GET", "/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {appid}, "secret": {secret}}, "", "")
	return a
}

func (e *env) classicToken(appid, secret string) string {
	e.t.Helper()
	a := e.classic(appid, secret)
	if a.code() != 0 || a.str("access_token") == "" {
		e.t.Fatalf("classic token: %v", a)
	}
	return a.str("access_token")
}

func (e *env) stable(appid, secret string, force bool) answer {
	e.t.Helper()
	b, _ := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force})
	_, a := e.do("POST", "/cgi-bin/stable_token", nil, "application/json", string(b))
	return a
}

func (e *env) stableToken(appid, secret string) string {
	e.t.Helper()
	a := e.stable(appid, secret, false)
	if a.code() != 0 || a.str("access_token") == "" {
		e.t.Fatalf("stable token: %v", a)
	}
	return a.str("access_token")
}

// post calls a marketing POST endpoint with a JSON body.
func (e *env) post(ep, token string, body any) answer {
	e.t.Helper()
	s, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		s = string(b)
	}
	_, a := e.do("POST", "/marketing/"+ep, url.Values{"version": {"v1.0"}, "access_token": {token}}, "application/json", s)
	return a
}

// get calls a marketing GET endpoint.
func (e *env) get(ep, token string, q url.Values) answer {
	e.t.Helper()
	qq := url.Values{"version": {"v1.0"}, "access_token": {token}}
	for k, v := range q {
		qq[k] = v
	}
	_, a := e.do("GET", "/marketing/"+ep, qq, "", "")
	return a
}

// webSet creates the WEB data source of the token's account.
func (e *env) webSet(token string) int64 {
	e.t.Helper()
	a := e.post("user_action_sets/add", token, map[string]any{"type": "WEB", "name": "shop"})
	if a.code() != 0 {
		e.t.Fatalf("create WEB set: %v", a)
	}
	return a.data().int("user_action_set_id")
}

// action builds a well-formed action.
func action(at time.Time, typ, click string) map[string]any {
	return map[string]any{
		"action_time": at.Unix(), "action_type": typ, "url": "https://shop.example.com/pay",
		"trace": map[string]any{"click_id": click}, "action_param": map[string]any{"value": 4000},
	}
}

func wantCode(t *testing.T, a answer, code int64) {
	t.Helper()
	if a.code() != code {
		t.Fatalf("errcode %d (%q), want %d", a.code(), a.msg(), code)
	}
}
