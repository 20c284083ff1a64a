package web_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/server/servertest"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/web"
)

// newLoginEnv is a dashboard with no data, its log written to logs (nil:
// discarded), on the settable clock of the returned env.
func newLoginEnv(t *testing.T, logs io.Writer) *env {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	st := storetest.Open(t)
	tenants, err := tenant.NewRegistry([]*tenant.App{{ID: "shop", Name: "Shop", SDKToken: "token-shop", Location: shanghai}})
	if err != nil {
		t.Fatal(err)
	}
	ck := &clock{t: testNow}
	s := server.New(server.Deps{
		Tenants: tenants, Store: st, AdminKey: adminKey,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Routes: []func(*server.Server) []server.Route{web.Mount(web.Options{
			Users: []config.User{{Name: userName, PasswordBcrypt: aliceHash()}}, SessionTTL: time.Hour, Now: ck.Now,
		})},
	})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &env{srv: ts, clock: ck, st: st, tenants: tenants}
}

// TestLoginNextRefusesHiddenHosts: browsers drop tabs and line breaks from
// a URL, so "/\t/evil.example" is followed to //evil.example. next is read
// with net/url and must be a path with no scheme, no host and no control
// character, on the login page and after the login alike.
func TestLoginNextRefusesHiddenHosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := []string{
		"/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "\t//evil.example",
		"/\x00/evil.example", "/\x7f/evil.example", "/\u0085/evil.example",
		`/\evil.example`, `/x\..\\evil.example`, "//evil.example", "https://evil.example/",
		"http:/evil.example", "javascript:alert(1)", "evil.example", "/%", "",
	}
	for _, next := range bad {
		if r := e.login(t, e.client(t), userName, userPassword, next); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Errorf("login with next %q: %d Location %q, want /", next, r.status, r.header.Get("Location"))
		}
	}
	// A logged-in visitor of the login page is sent on to next: the same rule.
	c := e.client(t)
	e.login(t, c, userName, userPassword, "/")
	for _, next := range bad {
		r := do(t, c, "GET", e.srv.URL+"/login?next="+url.QueryEscape(next), nil, nil)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Errorf("GET /login?next=%q: %d Location %q, want /", next, r.status, r.header.Get("Location"))
		}
	}
	// Local paths with a query and a fragment go through unchanged.
	for _, next := range []string{"/apps/shop/events?from=2026-03-05&to=2026-03-06", "/apps/shop/funnel#chart", "/"} {
		if r := e.login(t, e.client(t), userName, userPassword, next); r.header.Get("Location") != next {
			t.Errorf("login with next %q: Location %q", next, r.header.Get("Location"))
		}
	}
}

// TestLoginLogNamesOnlyUsers: a failed login logs the name only when it is
// a configured user (or the admin); anything else may be a key pasted into
// the wrong field and never reaches the log.
func TestLoginLogNamesOnlyUsers(t *testing.T) {
	t.Parallel()
	var logs servertest.Log
	e := newLoginEnv(t, &logs)
	const pasted = "sk-live-9f8e7d6c5b4a39281706"
	for _, name := range []string{pasted, userName, "admin"} {
		if r := e.login(t, e.client(t), name, "wrong password", "/"); r.status != http.StatusUnauthorized {
			t.Fatalf("login %q with a wrong password: %d", name, r.status)
		}
	}
	out := logs.String()
	if strings.Contains(out, pasted) || strings.Contains(out, pasted[:12]) {
		t.Errorf("the log holds a name that is no user:\n%s", out)
	}
	for _, want := range []string{`"name":"alice"`, `"name":"admin"`, `"known_name":false`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log of failed logins lacks %s:\n%s", want, out)
		}
	}
}

// loginFrom posts the login form as a client at addr ("203.0.113.7:4242"),
// straight to the handler, so that tests can play many addresses.
func loginFrom(t *testing.T, h http.Handler, addr, name, password string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{"name": {name}, "password": {password}, "next": {"/"}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = addr
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// attempt is what one login attempt was answered: the status and, on a
// 429, Retry-After.
type attempt struct {
	status     int
	retryAfter string
}

// newThrottleEnv is a dashboard handler (no listener) with its clock.
func newThrottleEnv(t *testing.T) (http.Handler, *clock) {
	t.Helper()
	tenants, err := tenant.NewRegistry([]*tenant.App{{ID: "shop", Name: "Shop", SDKToken: "token-shop", Location: shanghai}})
	if err != nil {
		t.Fatal(err)
	}
	ck := &clock{t: testNow}
	s := server.New(server.Deps{
		Tenants: tenants, Store: storetest.Open(t), AdminKey: adminKey,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Routes: []func(*server.Server) []server.Route{web.Mount(web.Options{
			Users: []config.User{{Name: userName, PasswordBcrypt: aliceHash()}}, SessionTTL: time.Hour, Now: ck.Now,
		})},
	})
	return s, ck
}

// TestLoginThrottleBacksOff: after four failures from one address, each
// further failure doubles the wait (1 s, 2 s, 4 s, ... at most a minute);
// an attempt before the wait is over is answered 429 with Retry-After and
// the login form saying so, even with the right password; after the wait
// the right password works and clears the count.
func TestLoginThrottleBacksOff(t *testing.T) {
	t.Parallel()
	h, ck := newThrottleEnv(t)
	const addr = "198.51.100.20:5000"
	for i := 1; i <= 4; i++ {
		if r := loginFrom(t, h, addr, userName, "wrong"); r.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401 (no wait before the fifth failure)", i, r.Code)
		}
	}
	wantWait := []int{1, 2, 4, 8, 16, 32, 60, 60}
	for i, wait := range wantWait {
		if r := loginFrom(t, h, addr, userName, "wrong"); r.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d after waiting: %d, want 401", 5+i, r.Code)
		}
		r := loginFrom(t, h, addr, userName, userPassword)
		if r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") != fmt.Sprint(wait) {
			t.Fatalf("right password at once after failure %d: %d Retry-After %q; want 429 and %d",
				5+i, r.Code, r.Header().Get("Retry-After"), wait)
		}
		if r.Header().Get("Set-Cookie") != "" || !strings.Contains(r.Body.String(), fmt.Sprintf("%d 秒后再试", wait)) {
			t.Fatalf("a throttled attempt must set no cookie and say how long to wait:\n%s", r.Body.String())
		}
		ck.Add(time.Duration(wait)*time.Second - time.Millisecond)
		if r := loginFrom(t, h, addr, userName, userPassword); r.Code != http.StatusTooManyRequests {
			t.Fatalf("a millisecond before the wait of %d s is over: %d, want 429", wait, r.Code)
		}
		ck.Add(time.Millisecond)
	}
	if r := loginFrom(t, h, addr, userName, userPassword); r.Code != http.StatusSeeOther {
		t.Fatalf("right password after the wait: %d, want 303", r.Code)
	}
	// The success cleared the count: four free failures again.
	for i := 1; i <= 4; i++ {
		if r := loginFrom(t, h, addr, userName, "wrong"); r.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d after a success: %d, want 401", i, r.Code)
		}
	}
	// Failures are forgotten 15 minutes after the last one.
	loginFrom(t, h, addr, userName, "wrong")
	ck.Add(15 * time.Minute)
	for i := 1; i <= 4; i++ {
		if r := loginFrom(t, h, addr, userName, "wrong"); r.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d 15 minutes after the last: %d, want 401", i, r.Code)
		}
	}
}

// TestLoginThrottlePerName: guesses spread over many addresses still slow
// down at the name they aim at; another name is not slowed; IPv6 clients
// count per /64, the block one client usually holds.
func TestLoginThrottlePerName(t *testing.T) {
	t.Parallel()
	h, _ := newThrottleEnv(t)
	for i := 1; i <= 5; i++ {
		if r := loginFrom(t, h, fmt.Sprintf("203.0.113.%d:1000", i), userName, "wrong"); r.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, r.Code)
		}
	}
	if r := loginFrom(t, h, "203.0.113.99:1000", userName, userPassword); r.Code != http.StatusTooManyRequests {
		t.Errorf("alice from a fresh address after 5 failures at alice: %d, want 429", r.Code)
	}
	if r := loginFrom(t, h, "203.0.113.99:1000", "admin", adminKey); r.Code != http.StatusSeeOther {
		t.Errorf("admin from a fresh address: %d, want 303 (another name)", r.Code)
	}
	for i := 1; i <= 5; i++ {
		loginFrom(t, h, fmt.Sprintf("[2001:db8:1:2::%x]:1000", i), fmt.Sprintf("nobody%d", i), "wrong")
	}
	if r := loginFrom(t, h, "[2001:db8:1:2:ffff::1]:1000", "admin", adminKey); r.Code != http.StatusTooManyRequests {
		t.Errorf("admin from the same /64 after 5 failures there: %d, want 429", r.Code)
	}
	if r := loginFrom(t, h, "[2001:db8:1:3::1]:1000", "admin", adminKey); r.Code != http.StatusSeeOther {
		t.Errorf("admin from another /64: %d, want 303", r.Code)
	}
}

// TestLoginThrottleSameForUnknownNames: a name that is no user is slowed
// exactly as a user's, so a 429 tells nothing about who exists.
func TestLoginThrottleSameForUnknownNames(t *testing.T) {
	t.Parallel()
	answers := func(name string) []attempt {
		h, ck := newThrottleEnv(t)
		var out []attempt
		for i := 0; i < 8; i++ {
			r := loginFrom(t, h, "198.51.100.7:1", name, "wrong")
			out = append(out, attempt{r.Code, r.Header().Get("Retry-After")})
			if i%3 == 2 {
				ck.Add(time.Second)
			}
		}
		return out
	}
	known, unknown := answers(userName), answers("mallory")
	if fmt.Sprint(known) != fmt.Sprint(unknown) {
		t.Errorf("a user's failures were answered %v, an unknown name's %v", known, unknown)
	}
	if known[len(known)-1].status != http.StatusTooManyRequests {
		t.Errorf("8 quick failures were never slowed: %v", known)
	}
}

// TestLoginThrottleSparesKnownBrowser: a stranger failing at "admin" slows
// himself down, not the admin's own browser, which logged in before and
// carries a device cookie for that name; the cookie is worth nothing for
// another name or once tampered with.
func TestLoginThrottleSparesKnownBrowser(t *testing.T) {
	t.Parallel()
	h, _ := newThrottleEnv(t)
	const shared = "192.0.2.1:1" // behind one proxy: the same address
	r := loginFrom(t, h, shared, "", adminKey)
	if r.Code != http.StatusSeeOther {
		t.Fatalf("admin login: %d", r.Code)
	}
	var device *http.Cookie
	for _, c := range r.Result().Cookies() {
		if c.Name == "shuyuan_device" {
			device = c
		}
	}
	if device == nil || !device.HttpOnly || device.MaxAge < 30*24*3600 {
		t.Fatalf("a successful login must leave a lasting HttpOnly device cookie; got %+v", device)
	}
	for i := 0; i < 30; i++ {
		loginFrom(t, h, shared, "admin", "guess")
	}
	if r := loginFrom(t, h, shared, "admin", adminKey); r.Code != http.StatusTooManyRequests {
		t.Errorf("the stranger, with the right key: %d, want 429", r.Code)
	}
	if r := loginFrom(t, h, shared, "admin", adminKey, device); r.Code != http.StatusSeeOther {
		t.Errorf("the admin's browser: %d, want 303", r.Code)
	}
	if r := loginFrom(t, h, shared, userName, userPassword, device); r.Code != http.StatusTooManyRequests {
		t.Errorf("the admin's device cookie used for alice: %d, want 429 (the address is throttled)", r.Code)
	}
	// Another last character of the signature: always a different value
	// (overwriting the last two with "AA" left one cookie in ~1,000 as it
	// was, and the test failed in CI).
	forged := *device
	v := []byte(device.Value)
	if v[len(v)-1] == 'A' {
		v[len(v)-1] = 'E'
	} else {
		v[len(v)-1] = 'A'
	}
	forged.Value = string(v)
	if r := loginFrom(t, h, shared, "admin", adminKey, &forged); r.Code != http.StatusTooManyRequests {
		t.Errorf("a tampered device cookie: %d, want 429", r.Code)
	}
	// The device's own guesses are throttled too: a stolen cookie is no
	// licence to guess.
	for i := 0; i < 5; i++ {
		loginFrom(t, h, shared, "admin", "guess", device)
	}
	if r := loginFrom(t, h, shared, "admin", adminKey, device); r.Code != http.StatusTooManyRequests {
		t.Errorf("the device cookie after 5 failures of its own: %d, want 429", r.Code)
	}
}
