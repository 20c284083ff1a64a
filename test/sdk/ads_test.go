package sdk_test

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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/order"
	"github.com/shuyuan-dev/shuyuan/internal/order/ordertest"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// The ad click of scenarios/ads.json and its user.
const (
	adsClickID = "wx0roylv2tqhiegu00"
	adsAdID    = "3012345678"
	adsOpenID  = "oHarness_Ads_OpenId_0001"
)

// TestAdClickToWeChatConversion closes the loop end to end on the real
// pieces: the official SDK launches from a WeChat ad (gdt_vid and
// weixinadinfo in the launch query), browses and orders; the merchant's
// backend then reports the order paid through the signed data-api; the
// WeChat fake receives exactly one COMPLETE_ORDER with that click id, the
// pay time and the paid amount in fen — however often the backend resends.
func TestAdClickToWeChatConversion(t *testing.T) {
	node := requireHarness(t)

	fake, err := wxfake.New(wxfake.Options{
		Apps:               []wxfake.App{{AppID: "wx8f0c1d2e3a4b5c6d", Secret: "harness-wx-secret", AccountID: 7001}},
		DedupOuterActionID: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	fake.AddClick(adsClickID)
	fs := httptest.NewServer(fake)
	t.Cleanup(fs.Close)

	app := &tenant.App{
		ID: "ads", Name: "Harness Mall", SDKToken: "sdk-test-token-ads", WxAppID: "wx8f0c1d2e3a4b5c6d", WxSecret: "harness-wx-secret",
		DataAPIAppID: "ads-data-api", DataAPISecret: "ads-data-api-secret",
		Ads: tenant.Ads{OrderSource: tenant.OrderSourceBackend, SendOuterActionID: true},
	}
	tenants, err := tenant.NewRegistry([]*tenant.App{app})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := storetest.Open(t)
	ads := conversion.NewService(st, tenants, conversion.Options{BaseURL: fs.URL, HTTPClient: fs.Client(), Logger: log})
	st.SetEventHook(ads.OnEvents)
	worker := conversion.NewWorker(ads, conversion.WorkerOptions{})
	w := store.NewWriter(st, store.WriterOptions{})
	t.Cleanup(w.Close)
	srv := server.New(server.Deps{
		Tenants: tenants, Store: st, Writer: w, Collector: collect.New(w, collect.NewTypeGate(collect.StoredTypes(st), collect.DefaultMaxNewTypes)), Logger: log,
		Metrics: server.NewMetrics(prometheus.NewRegistry(), w), AdminKey: adminKey, MaxBody: 1 << 20, MaxBatch: 500,
		Orders: order.NewService(st, tenants, order.Options{OnPaid: ads.OnOrderPaid}),
		Routes: []func(*server.Server) []server.Route{server.WX(ads)},
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	// The shopper: the real SDK, launched from the ad.
	run := &harnessRun{name: "ads/2.1.1", version: "2.1.1", scenario: "scenarios/ads.json", app: app.ID, token: app.SDKToken}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run.run(ctx, node, hs.URL, t.TempDir())
	if run.runErr != nil || run.exitCode != 0 {
		t.Fatalf("harness: exit %d, %v\nstderr:\n%s", run.exitCode, run.runErr, run.stderr)
	}
	var clicked int
	if err := st.DB().QueryRow(`SELECT count(*) FROM events WHERE app_id = $1 AND open_id = $2 AND click_id = $3 AND ad_id = $4`,
		app.ID, adsOpenID, adsClickID, adsAdID).Scan(&clicked); err != nil || clicked == 0 {
		t.Fatalf("%d events of the shopper carry the ad click (%v)", clicked, err)
	}

	// The merchant's backend: the order is paid, reported (twice, as
	// backends retry) through the signed data-api.
	paidAt := time.Now().Truncate(time.Second)
	client := &ordertest.Client{BaseURL: hs.URL, AppID: app.DataAPIAppID, Secret: app.DataAPISecret, HTTP: hs.Client()}
	res, err := client.Post(ctx, "/data_source/add", map[string]any{"merchantId": "m-1", "dataSourceType": 0})
	if err != nil || res.Retcode != 0 {
		t.Fatalf("data_source/add: %+v %v", res, err)
	}
	var src struct{ DataSource order.DataSource }
	if err := json.Unmarshal(res.Data, &src); err != nil {
		t.Fatal(err)
	}
	paid := ordertest.Order("ads-order-1", paidAt.Add(-2*time.Minute), 1150, paidAt, adsOpenID)
	for range 2 {
		res, err := client.Post(ctx, "/order/add_order", map[string]any{"dataSourceId": src.DataSource.ID, "orders": []any{paid}})
		if err != nil || res.Retcode != 0 {
			t.Fatalf("add_order: %+v %v", res, err)
		}
	}
	if _, err := worker.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	var orders []wxfake.RecordedAction
	for _, a := range fake.Actions() {
		if a.ActionType == wxads.ActionCompleteOrder && !a.Duplicate {
			orders = append(orders, a)
		}
	}
	if len(orders) != 1 {
		t.Fatalf("the fake received %d COMPLETE_ORDER actions, want exactly 1: %+v", len(orders), fake.Actions())
	}
	got := orders[0]
	var act wxads.Action
	if err := json.Unmarshal(got.Raw, &act); err != nil {
		t.Fatal(err)
	}
	if got.ClickID != adsClickID || got.ActionTime != paidAt.Unix() || act.ActionParam == nil || act.ActionParam.Value != 9880 || !got.Identified {
		t.Errorf("COMPLETE_ORDER %s (identified %v); want click %s, action_time %d, value 9880 fen", got.Raw, got.Identified, adsClickID, paidAt.Unix())
	}
	// The merchant sees it on the WeChat routes too.
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/wx/outbox?state=delivered", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	ans, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(ans.Body)
	ans.Body.Close()
	if !strings.Contains(string(body), `"delivered":1`) || !strings.Contains(string(body), adsClickID) {
		t.Errorf("/wx/outbox: %s", body)
	}
}
