package analysis_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
)

// TestAdsAnalysis checks the ads analysis on a hand-computed dataset (local
// times, Asia/Shanghai):
//
//	A  03-01 10:00 ad 111 (click c1), first visit; 10:05 adds to cart;
//	   pays order oa 03-01 12:00, 50.00 → credited to c1; delivered
//	B  02-28 20:00 first visit, no ad; 03-01 11:00 ad 111 (c2);
//	   pays ob 03-02 10:00, 30.00 → c2, on 03-02; pending
//	C  03-02 09:00 ad 222 (c3), first visit; pays oc 09:30, 20.00; dead
//	D  03-02 15:00 gdt_vid only (c4, no ad id), first visit
//	E  pays oe 03-02 16:00 without any ad: unattributed, in no row
func TestAdsAnalysis(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	local := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	app := &tenant.App{ID: "shop", SDKToken: "shop-sdk-token", WxAppID: "wxa1b2c3d4e5f60718", WxSecret: "s",
		DataAPIAppID: "shop-data", Location: loc, Ads: tenant.Ads{OrderSource: tenant.OrderSourceBackend}}
	reg, err := tenant.NewRegistry([]*tenant.App{app})
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	svc := conversion.NewService(st, reg, conversion.Options{Now: func() time.Time { return local("2026-03-03 00:00") }})
	st.SetEventHook(svc.OnEvents)

	const c1, c2, c3, c4 = "wx0ewinbalytptma00", "wx0vnret2znwpts4", "wx03uxqfwz22ubsa00", "wx0roylv2tqhiegu00"
	var key int64
	ev := func(open, typ, at, click, ad string) event.Event {
		key++
		e := event.Event{Type: typ, Kind: event.KindOf(typ), Time: local(at), Key: key, UserKey: open, OpenID: open,
			Page: "pages/index/index", Props: json.RawMessage(`{}`), GdtVid: click}
		if ad != "" {
			e.AdInfo = ad + "." + click + ".0.0"
		}
		return e
	}
	evs := []event.Event{
		ev("oA", event.AppLaunch, "2026-03-01 10:00", c1, "111"),
		ev("oA", event.AddToCart, "2026-03-01 10:05", c1, "111"),
		ev("oB", event.AppLaunch, "2026-02-28 20:00", "", ""),
		ev("oB", event.AppLaunch, "2026-03-01 11:00", c2, "111"),
		ev("oC", event.AppLaunch, "2026-03-02 09:00", c3, "222"),
		ev("oD", event.AppLaunch, "2026-03-02 15:00", c4, ""),
		ev("oE", event.AppLaunch, "2026-03-02 15:30", "", ""),
	}
	b := &store.EventBatch{AppID: "shop", ReceivedAt: local("2026-03-02 16:00"), Events: evs}
	attribution.Resolve(b)
	if _, err := st.WriteEvents(context.Background(), []*store.EventBatch{b}); err != nil {
		t.Fatal(err)
	}
	paid := func(id, open, at string, fen int64) store.Order {
		return store.Order{ExternalID: id, CreateTime: local(at), Source: "wxapp", Status: 1150, StatusTime: local(at),
			PaidTime: local(at), OrderFen: fen, PaymentFen: fen, OpenID: open, Raw: json.RawMessage(`{}`)}
	}
	if _, err := st.AddOrders(context.Background(), []*store.OrderBatch{{AppID: "shop", ReceivedAt: local("2026-03-02 16:00"), OnPaid: svc.OnPaid,
		Orders: []store.Order{
			paid("oa", "oA", "2026-03-01 12:00", 5000), paid("ob", "oB", "2026-03-02 10:00", 3000),
			paid("oc", "oC", "2026-03-02 09:30", 2000), paid("oe", "oE", "2026-03-02 16:00", 9900),
		}}}); err != nil {
		t.Fatal(err)
	}
	// Delivery outcomes, as the worker would have recorded them: oa was
	// delivered on its third attempt, sent twice more after lost answers.
	for ref, status := range map[string]string{"oa": "delivered", "oc": "dead"} {
		if _, err := st.DB().Exec(`UPDATE ad_conversions SET status = $1 WHERE id = $2`, status, conversion.ID("shop", ref, wxads.ActionCompleteOrder)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.DB().Exec(`UPDATE ad_conversions SET resends = 2, attempts = 3 WHERE id = $1`, conversion.ID("shop", "oa", wxads.ActionCompleteOrder)); err != nil {
		t.Fatal(err)
	}

	a, ok := analysis.Get("ads")
	if !ok {
		t.Fatal("no ads analysis")
	}
	q, err := analysis.ParseQuery(app, "2026-03-01", "2026-03-02", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(context.Background(), st, q)
	if err != nil {
		t.Fatal(err)
	}
	// day, ad, visitors, new, cart users, orders, paying users, GMV, reported, pending, dead, resent
	want := [][]any{
		{"2026-03-01", "111", int64(2), int64(1), int64(1), int64(1), int64(1), int64(5000), int64(1), int64(0), int64(0), int64(1)},
		{"2026-03-02", "", int64(1), int64(1), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0)},
		{"2026-03-02", "111", int64(0), int64(0), int64(0), int64(1), int64(1), int64(3000), int64(0), int64(1), int64(0), int64(0)},
		{"2026-03-02", "222", int64(1), int64(1), int64(0), int64(1), int64(1), int64(2000), int64(0), int64(0), int64(1), int64(0)},
	}
	if len(res.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %v", len(res.Rows), len(want), res.Rows)
	}
	for i := range want {
		if !reflect.DeepEqual(res.Rows[i], want[i]) {
			t.Errorf("row %d: %#v\n        want %#v", i, res.Rows[i], want[i])
		}
	}
}

// TestAdsAnalysisCreditsEveryOrder: the ads analysis credits orders by the
// rule of every other analysis — each order once, the backend's figures
// where it reports the order, the SDK's otherwise — while the conversion
// columns follow the one source sent to WeChat (here the backend). Local
// times, Asia/Shanghai:
//
//	F  03-01 10:00 ad 333 (c5); pays SDK-only order os1 at 11:00, 25.00:
//	   an order and GMV of ad 333, but no conversion (the SDK is not the
//	   source sent)
//	G  03-01 12:00 ad 333 (c6); pays ob2 at 13:00: the backend says 40.00,
//	   the SDK 45.00 → counted once, at 40.00; its conversion is pending
//	H  02-20 09:00 ad 444 (c7); pays SDK order os3 03-01 09:00: the touch
//	   is older than the 7-day window → no ad's order
func TestAdsAnalysisCreditsEveryOrder(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	local := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	app := &tenant.App{ID: "shop", SDKToken: "shop-sdk-token", WxAppID: "wxa1b2c3d4e5f60718", WxSecret: "s",
		DataAPIAppID: "shop-data", Location: loc, Ads: tenant.Ads{OrderSource: tenant.OrderSourceBackend}}
	reg, err := tenant.NewRegistry([]*tenant.App{app})
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	svc := conversion.NewService(st, reg, conversion.Options{Now: func() time.Time { return local("2026-03-03 00:00") }})
	st.SetEventHook(svc.OnEvents)

	const c5, c6, c7 = "wx0c5clickid0005", "wx0c6clickid0006", "wx0c7clickid0007"
	var key int64
	ev := func(open, typ, at, click, ad string) event.Event {
		key++
		e := event.Event{Type: typ, Kind: event.KindOf(typ), Time: local(at), Key: key, UserKey: open, OpenID: open,
			Page: "pages/index/index", Props: json.RawMessage(`{}`), GdtVid: click, TrackingID: "t-" + open}
		if ad != "" {
			e.AdInfo = ad + "." + click + ".0.0"
		}
		return e
	}
	payed := func(open, at, id string, fen int64) event.Event {
		e := ev(open, event.CustomOrder, at, "", "")
		e.OrderID, e.OrderStatus, e.PayFen, e.OrderFen = id, "payed", fen, fen
		return e
	}
	evs := []event.Event{
		ev("oF", event.AppLaunch, "2026-03-01 10:00", c5, "333"),
		payed("oF", "2026-03-01 11:00", "os1", 2500),
		ev("oG", event.AppLaunch, "2026-03-01 12:00", c6, "333"),
		payed("oG", "2026-03-01 13:00", "ob2", 4500),
		ev("oH", event.AppLaunch, "2026-02-20 09:00", c7, "444"),
		payed("oH", "2026-03-01 09:00", "os3", 1000),
	}
	b := &store.EventBatch{AppID: "shop", ReceivedAt: local("2026-03-01 14:00"), Events: evs}
	attribution.Resolve(b)
	if _, err := st.WriteEvents(context.Background(), []*store.EventBatch{b}); err != nil {
		t.Fatal(err)
	}
	at := local("2026-03-01 13:00")
	if _, err := st.AddOrders(context.Background(), []*store.OrderBatch{{AppID: "shop", ReceivedAt: local("2026-03-01 14:00"), OnPaid: svc.OnPaid,
		Orders: []store.Order{{ExternalID: "ob2", CreateTime: at, Source: "wxapp", Status: 1150, StatusTime: at,
			PaidTime: at, OrderFen: 4000, PaymentFen: 4000, OpenID: "oG", Raw: json.RawMessage(`{}`)}}}}); err != nil {
		t.Fatal(err)
	}

	a, _ := analysis.Get("ads")
	q, err := analysis.ParseQuery(app, "2026-03-01", "2026-03-01", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(context.Background(), st, q)
	if err != nil {
		t.Fatal(err)
	}
	// day, ad, visitors, new, cart users, orders, paying users, GMV, reported, pending, dead, resent
	want := [][]any{
		{"2026-03-01", "333", int64(2), int64(2), int64(0), int64(2), int64(2), int64(6500), int64(0), int64(1), int64(0), int64(0)},
	}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("rows %v\n want %v", res.Rows, want)
	}
}
