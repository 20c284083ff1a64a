package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/server"
)

// TestJSONAPIHeaders: the JSON answers (and the API's CSV) are never
// sniffed as another type nor kept by a cache: they carry the data of the
// merchant's users.
func TestJSONAPIHeaders(t *testing.T) {
	e := newSDKEnv(t)
	for _, c := range []struct{ name, path, auth string }{
		{"apps", "/api/v1/apps", "Bearer " + sdkTestAdminKey},
		{"analysis", "/api/v1/apps/shop/analysis/events?from=2024-06-01&to=2024-06-02", "Bearer " + sdkTestAdminKey},
		{"analysis CSV", "/api/v1/apps/shop/analysis/events?from=2024-06-01&to=2024-06-02&format=csv", "Bearer " + sdkTestAdminKey},
		{"API error", "/api/v1/apps", ""},
		{"readiness", "/readyz", ""},
	} {
		res := sdkGet(t, e.url+c.path, c.auth)
		if got := res.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", c.name, got)
		}
		if got := res.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", c.name, got)
		}
	}
	if a := e.upload(t, sdkJSON(t, []any{e.goodEvent()})); a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("SDK answer headers: %v", a.header)
	}
}

// TestMetricsToken: with metrics_token set, /metrics wants it as a bearer
// token; without it answers 401.
func TestMetricsToken(t *testing.T) {
	const token = "metrics-token-0123456789"
	e := newSDKEnvWith(t, func(d *server.Deps) { d.MetricsToken = token })
	for _, auth := range []string{"", "Bearer wrong-token-0123456789", "Bearer " + sdkTestAdminKey, token} {
		if res := sdkGet(t, e.url+"/metrics", auth); res.status != http.StatusUnauthorized || strings.Contains(res.body, "shuyuan_") {
			t.Errorf("/metrics with Authorization %q: %v; want 401", auth, res)
		}
	}
	if res := sdkGet(t, e.url+"/metrics", "Bearer "+token); res.status != http.StatusOK || !strings.Contains(res.body, "shuyuan_http_requests_total") {
		t.Errorf("/metrics with the token: %d", res.status)
	}
}

// TestMetricsOnOwnAddress: with metrics_addr set, /metrics is served there
// (with /healthz and /readyz, and the token if one is set) and is gone
// from the public address.
func TestMetricsOnOwnAddress(t *testing.T) {
	const token = "metrics-token-0123456789"
	e := newSDKEnvWith(t, func(d *server.Deps) { d.MetricsAddr, d.MetricsToken = "127.0.0.1:0", token })
	srv := e.server
	if res := sdkGet(t, e.url+"/metrics", "Bearer "+token); res.status != http.StatusNotFound {
		t.Errorf("/metrics on the public address: %v; want 404", res)
	}
	addr, stop, err := srv.ServeMetrics()
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	base := "http://" + addr
	if res := sdkGet(t, base+"/metrics", "Bearer "+token); res.status != http.StatusOK || !strings.Contains(res.body, "shuyuan_http_requests_total") {
		t.Errorf("/metrics on metrics_addr: %d", res.status)
	}
	if res := sdkGet(t, base+"/metrics", ""); res.status != http.StatusUnauthorized {
		t.Errorf("/metrics on metrics_addr without the token: %d", res.status)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if res := sdkGet(t, base+p, ""); res.status != http.StatusOK {
			t.Errorf("%s on metrics_addr: %v", p, res)
		}
	}
	if res := sdkGet(t, base+"/api/v1/apps", "Bearer "+sdkTestAdminKey); res.status != http.StatusNotFound {
		t.Errorf("the admin API on metrics_addr: %d; want 404", res.status)
	}
}
