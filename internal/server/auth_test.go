package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// Guessing the admin key: after ten wrong keys an address waits, and
// while it waits every request with a key is answered 429 with
// Retry-After in the route's own envelope, the right key included; other
// addresses are not slowed; once the wait is over the right key works.
func TestAdminKeyGuessesSlowedDown(t *testing.T) {
	const key = "auth-test-admin-key-0001"
	st := storetest.Open(t)
	tenants, err := tenant.NewRegistry([]*tenant.App{{ID: "shop", SDKToken: "token-shop-0001"}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := server.New(server.Deps{Tenants: tenants, Store: st, AdminKey: key, Now: clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Routes: []func(*server.Server) []server.Route{server.WX(conversion.NewService(st, tenants, conversion.Options{}))}})
	ask := func(path, from, bearer string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = from
		r.Header.Set("Authorization", "Bearer "+bearer)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w
	}
	const attacker, other = "203.0.113.7:40000", "198.51.100.9:50000"
	for i := range 10 {
		if w := ask("/api/v1/apps", attacker, "guess-"+string(rune('a'+i))); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, w.Code)
		}
	}
	if w := ask("/api/v1/apps", attacker, key); w.Code != http.StatusOK {
		t.Fatalf("the right key after ten free failures: %d", w.Code)
	}
	if w := ask("/api/v1/apps", attacker, "guess-k"); w.Code != http.StatusUnauthorized {
		t.Fatalf("the eleventh guess: %d, want 401", w.Code)
	}
	w := ask("/api/v1/apps", attacker, key)
	var api struct{ Error struct{ Code string } }
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" ||
		json.Unmarshal(w.Body.Bytes(), &api) != nil || api.Error.Code != "too_many_attempts" {
		t.Fatalf("while waiting: %d Retry-After %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	var wx struct{ Errcode int64 }
	if w := ask("/wx/token?app=shop", attacker, key); w.Code != http.StatusTooManyRequests ||
		json.Unmarshal(w.Body.Bytes(), &wx) != nil || wx.Errcode != -1 {
		t.Fatalf("a WeChat route while waiting: %d %s", w.Code, w.Body)
	}
	if w := ask("/api/v1/apps", other, key); w.Code != http.StatusOK {
		t.Fatalf("another address: %d", w.Code)
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if w := ask("/api/v1/apps", attacker, key); w.Code != http.StatusOK {
		t.Fatalf("after the wait: %d", w.Code)
	}
}
