package web_test

import (
	"net/http"
	"net/url"
	"testing"
)

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
