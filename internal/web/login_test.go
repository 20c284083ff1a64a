package web_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/web"
)

// logBuffer collects a server's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

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
		Extra: []func(*http.ServeMux, *server.Server){web.Mount(web.Options{
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
	var logs logBuffer
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
