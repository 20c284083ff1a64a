package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
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

// fullStore is the real store as on a full disk while full is set: every
// write fails, reads and Ping still work.
type fullStore struct {
	*duckdb.Store
	full atomic.Bool
}

var errNoSpace = fmt.Errorf("%w: IO Error: could not write to the write-ahead log: No space left on device", store.ErrUnavailable)

func (f *fullStore) WriteEvents(ctx context.Context, b []*store.EventBatch) ([]store.EventResult, error) {
	if f.full.Load() {
		return nil, errNoSpace
	}
	return f.Store.WriteEvents(ctx, b)
}

func (f *fullStore) Transact(ctx context.Context, fn func(tx store.Tx) error) error {
	if f.full.Load() {
		return errNoSpace
	}
	return f.Store.Transact(ctx, fn)
}

func (f *fullStore) SetAppState(ctx context.Context, app, key, value string, at time.Time) error {
	if f.full.Load() {
		return errNoSpace
	}
	return f.Store.SetAppState(ctx, app, key, value, at)
}

// TestReadinessFollowsWrites: /readyz answers whether the node can write,
// not only whether the store answers a query. A full disk makes it fail
// (found by a probe write even before an upload fails); it stays failing
// at least 5 s after a failed commit, then recovers by itself once a probe
// write succeeds, with no upload needed.
func TestReadinessFollowsWrites(t *testing.T) {
	fs := &fullStore{Store: storetest.Open(t)}
	var mu sync.Mutex
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newSDKEnvWith(t, func(d *server.Deps) {
		d.Store, d.Now = fs, clock
		w := store.NewWriter(fs, store.WriterOptions{OnCommit: d.Metrics.ObserveCommit})
		t.Cleanup(w.Close)
		d.Writer, d.Collector = w, collect.New(w, nil)
	})
	ready := func() sdkHTTPResult { return sdkGet(t, e.url+"/readyz", "") }

	if a := e.upload(t, sdkJSON(t, []any{e.goodEvent()})); a.status != 200 {
		t.Fatalf("upload: %v", a)
	}
	if res := ready(); res.status != 200 {
		t.Fatalf("/readyz with a healthy store: %v", res)
	}

	fs.full.Store(true)
	advance(10 * time.Second) // the last probe is stale: /readyz probes again
	if res := ready(); res.status != 503 || !strings.Contains(res.body, "store cannot write") || !strings.Contains(res.body, "No space left on device") {
		t.Errorf("/readyz with the disk full, before any upload: %v; want 503 store cannot write", res)
	}
	if a := e.upload(t, sdkJSON(t, []any{e.goodEvent()})); a.status != 503 || *a.Code != collect.CodeUnavailable {
		t.Errorf("upload with the disk full: %v", a)
	}
	if m := sdkScrape(t, e.url); m["shuyuan_store_writable"] != 0 {
		t.Errorf("shuyuan_store_writable = %v with the disk full; want 0", m["shuyuan_store_writable"])
	}

	fs.full.Store(false) // space comes back
	advance(4 * time.Second)
	if res := ready(); res.status != 503 {
		t.Errorf("/readyz 4 s after a failed commit: %v; want still 503", res)
	}
	advance(time.Second)
	if res := ready(); res.status != 200 || !strings.Contains(res.body, `"ready"`) {
		t.Errorf("/readyz once space is back, with no upload: %v; want 200", res)
	}
	if a := e.upload(t, sdkJSON(t, []any{e.goodEvent()})); a.status != 200 {
		t.Errorf("upload once space is back: %v", a)
	}
	if m := sdkScrape(t, e.url); m["shuyuan_store_writable"] != 1 {
		t.Errorf("shuyuan_store_writable = %v; want 1", m["shuyuan_store_writable"])
	}
}
