package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/intake"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// On the intake log an upload is answered code 0 once appended; past the
// backlog bound the SDK gets 5003 with Retry-After before its body is
// read, and the analysis API says what it could not wait for.
func TestSDKOnIntakeLog(t *testing.T) {
	st := storetest.DuckDB.Open(t)
	app := &tenant.App{ID: "shop", Name: "Shop", SDKToken: sdkTestToken, Location: time.UTC}
	tenants, err := tenant.NewRegistry([]*tenant.App{app})
	if err != nil {
		t.Fatal(err)
	}
	l, err := intake.Open(t.TempDir(), intake.Options{MaxBacklog: 3000})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := collect.New(nil, nil).WithLog(l)
	ld := collect.NewLoader(c, l, st, tenants.ByID, collect.LoaderOptions{})
	srv := server.New(server.Deps{Tenants: tenants, Store: ld.Fresh(st, 100*time.Millisecond), Collector: c,
		Logger: slog.New(slog.DiscardHandler), AdminKey: sdkTestAdminKey, MaxBody: sdkTestMaxBody, MaxBatch: sdkTestMaxBatch})
	hs := httptest.NewServer(srv)
	defer hs.Close()

	post := func() (int, map[string]any, http.Header) {
		t.Helper()
		body := `[{"type":"browse_wxapp_page","tracking_id":"T1","log_id":1,"props":{"page":"pages/index","time":` +
			jsonInt(time.Now().UnixMilli()) + `,"wx_user":{"open_id":"o1"},"chan":{"chan_wxapp_scene":1001}}}]`
		res, err := http.Post(hs.URL+"/api/report?token="+sdkTestToken, "application/json", strings.NewReader(body+strings.Repeat(" ", 1000)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var ans map[string]any
		if err := json.NewDecoder(res.Body).Decode(&ans); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, ans, res.Header
	}
	status, ans, _ := post()
	if status != http.StatusOK || ans["code"] != float64(0) {
		t.Fatalf("first upload: HTTP %d %v", status, ans)
	}
	for i := 0; ; i++ {
		status, ans, hdr := post()
		if ans["code"] == float64(0) {
			if i > 10 {
				t.Fatal("no refusal past a 3,000-byte backlog")
			}
			continue
		}
		if status != http.StatusServiceUnavailable || ans["code"] != float64(collect.CodeUnavailable) || hdr.Get("Retry-After") != "1" ||
			!strings.Contains(ans["msg"].(string), "send again later") {
			t.Fatalf("refusal past the bound: HTTP %d %v, Retry-After %q", status, ans, hdr.Get("Retry-After"))
		}
		break
	}

	// The loader is not running: the analysis waits 100 ms, then answers
	// with what is stored and says what it could not wait for.
	get := func() map[string]any {
		t.Helper()
		day := time.Now().UTC()
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/v1/apps/shop/analysis/events?from="+
			day.AddDate(0, 0, -1).Format("2006-01-02")+"&to="+day.AddDate(0, 0, 1).Format("2006-01-02"), nil)
		req.Header.Set("Authorization", "Bearer "+sdkTestAdminKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("analysis: HTTP %d %s", res.StatusCode, b)
		}
		return out
	}
	u, ok := get()["unloaded"].(map[string]any)
	if !ok || u["uploads"].(float64) < 2 {
		t.Fatalf("analysis with the loader stopped: unloaded = %v", u)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ld.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if !ld.CatchUp(ctx, time.Minute) {
		t.Fatal("loader did not catch up")
	}
	if out := get(); out["unloaded"] != nil {
		t.Fatalf("analysis once loaded still notes %v", out["unloaded"])
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
