package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/web"
)

// A login is the store's, not a node's: log in through one node, browse
// through another (on the embedded store: after a restart), log out
// there, and the first no longer lets the browser in.
func TestLoginOnEveryNode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, o storetest.Opener) {
		st := o.Open(t)
		nodeA := dashboardNode(t, st)
		nodeB := dashboardNode(t, o.Node(t, st))
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		// One jar for both hosts: the browser behind the load balancer.
		share := func(from, to string) {
			fu, _ := url.Parse(from)
			tu, _ := url.Parse(to)
			jar.SetCookies(tu, jar.Cookies(fu))
		}
		res, err := c.PostForm(nodeA+"/login", url.Values{"name": {"admin"}, "password": {adminKey}, "next": {"/apps/shop/overview"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "/apps/shop/overview") {
			t.Fatalf("login on A: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		share(nodeA, nodeB)
		get := func(node string) int {
			t.Helper()
			res, err := c.Get(node + "/apps/shop/overview")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res.StatusCode
		}
		if code := get(nodeB); code != http.StatusOK {
			t.Fatalf("browse on B after logging in on A: %d", code)
		}
		req, _ := http.NewRequest(http.MethodPost, nodeB+"/logout", nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if res, err := c.Do(req); err != nil || res.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout on B: %v %v", res, err)
		}
		// The browser may still hold its cookie for A: A must refuse it.
		if code := get(nodeA); code != http.StatusSeeOther {
			t.Fatalf("browse on A after logging out on B: %d, want a redirect to the login", code)
		}
	})
}

const nodesAdminKey = adminKey

func dashboardNode(t *testing.T, st store.Store) string {
	t.Helper()
	tenants, err := tenant.NewRegistry([]*tenant.App{{ID: "shop", Name: "Shop", SDKToken: "token-shop", Location: shanghai}})
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Deps{
		Tenants: tenants, Store: st, AdminKey: nodesAdminKey,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Routes: []func(*server.Server) []server.Route{web.Mount(web.Options{SessionTTL: time.Hour})},
	})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts.URL
}
