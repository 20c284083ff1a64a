package demo_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// TestFillBackend: with a backend, the demo gives the pages that read the
// data-api realistic figures — backend orders beside the SDK's, daily sums
// matching but for one day, WeChat's page report beside the SDK's views.
func TestFillBackend(t *testing.T) {
	st := storetest.Open(t)
	w := store.NewWriter(st, store.WriterOptions{})
	defer w.Close()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	app := &tenant.App{ID: demo.AppID, WxAppID: demo.WxAppID, Location: loc}
	opts := tiny()
	opts.Backend = st
	ctx := context.Background()
	stats, err := demo.Fill(ctx, w, app, opts)
	if err != nil {
		t.Fatal(err)
	}
	b := stats.Backend
	t.Logf("backend: %+v (SDK orders %d)", b, stats.Orders)
	if b.Orders == 0 || b.OnlyBackend == 0 || b.OnlySDK == 0 || b.SumDays != 6 || b.PageRows == 0 {
		t.Fatalf("backend %+v", b)
	}
	ask := func(name string, params url.Values) *analysis.Result {
		t.Helper()
		a, _ := analysis.Get(name)
		q, err := analysis.ParseQuery(app, "2026-05-14", "2026-05-20", params)
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Run(ctx, st, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res
	}
	col := func(res *analysis.Result, name string) int {
		for i, c := range res.Columns {
			if c.Name == name {
				return i
			}
		}
		t.Fatalf("%s: no column %s", res.Analysis, name)
		return -1
	}
	// Reconciliation: the merchant's sums match the stored orders on every
	// day but the day before yesterday; today has no sum yet.
	rec := ask("reconciliation", nil)
	status := col(rec, "status")
	want := map[string]string{"2026-05-18": "differs", "2026-05-20": "no_sum"}
	for _, row := range rec.Rows {
		w, ok := want[fmt.Sprint(row[0])]
		if !ok {
			w = "ok"
		}
		if row[status] != w {
			t.Errorf("reconciliation %v: %v, want %s", row[0], row[status], w)
		}
	}
	if orders := ask("orders", nil); len(orders.Rows) != 7 {
		t.Errorf("orders: %d days", len(orders.Rows))
	}
	// SKU sales come from backend orders.
	skus := ask("skus", url.Values{"sort": {"gmv_fen"}})
	if len(skus.Rows) == 0 || fmt.Sprint(skus.Rows[0][col(skus, "gmv_fen")]) == "0" {
		t.Errorf("no SKU sales")
	}
	// WeChat counts a little more than the SDK, and a page without the SDK.
	pages := ask("pages", nil)
	wx, sdk, page := col(pages, "wx_pv"), col(pages, "sdk_pv"), col(pages, "page")
	h5 := false
	for _, row := range pages.Rows {
		if row[page] == "pages/activity/h5" {
			h5 = true
			if row[sdk] != nil && fmt.Sprint(row[sdk]) != "0" {
				t.Errorf("the H5 page has SDK views: %v", row)
			}
			continue
		}
		if row[wx] != nil && row[sdk] != nil {
			w, s := row[wx].(int64), row[sdk].(int64)
			if w < s || float64(w) > float64(s)*1.09+1 {
				t.Errorf("page %v: WeChat %d, SDK %d", row[page], w, s)
			}
		}
	}
	if !h5 {
		t.Error("no row for the page without the SDK")
	}
}
