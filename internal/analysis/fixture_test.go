package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// The hand-computed dataset every analysis test reads. Local times are
// Asia/Shanghai (UTC+8); the range asked is 2026-03-01 .. 2026-03-02.
//
// Users (user_key): A = open_id oA (union unA), B = oB, C = local_id lC
// (never logged in), D = oD (union unD).
//
//	tA1  A  03-01 10:00  scene 1058, chan mp_1, refer wxOA, guide G1, shop SHOP1,
//	                     chan_custom art-1 / article / content / owned
//	     launch, page view, search "Lychee", expose+click+detail S1, cart S1 x2,
//	     order O1 placed (60.00), leave 30 s, share
//	tA2  A  03-02 09:00  scene 1001, chan search_1: show, O1 payed (placed in tA1,
//	                     paid here), page view, leave 10 s
//	tA3  A  03-03 10:00  show (after the range: retention day 2 only)
//	tB1  B  03-01 23:59:50 .. 03-02 00:00:09, across midnight; scene 1089,
//	                     chan live_1, room R1, shop SHOP1: launch, page view,
//	                     expose S2, O2 placed 23:59:59 (100.00), payed 00:00:05,
//	                     leave 15 s, refund 00:00:09
//	tC1  C  03-02 12:00  scene 1007, chan share_1, guide G1: launch, page view,
//	                     search "lychee ", search "Durian", expose+click S1,
//	                     cart S1 x1 then remove x1, O3 placed (30.00) and cancelled
//	tD0  D  02-28 20:00  scene 1035, refer wxOA: launch (first visit, before the range)
//	tD1  D  03-02 14:00  scene 1035, chan mp_2, refer wxOA: show, detail S2,
//	                     O4 placed 14:05 and payed 14:06 (50.00), leave 20 s
//
// Backend orders (data-api):
//
//	O4   oD  03-02 14:05, paid 14:06, 45.00: the same order as the SDK's O4;
//	         the backend's wins. No chan_info: attributed to D's last session
//	         (tD1: mp_2, 1035).
//	BO1  oD  03-02 15:00, paid 15:01, 200.00, guide G9 (on no SDK event),
//	         store SHOP2 "Store Two", goods S3 x2; channel from tD1.
//	BO2  oB  03-01 08:00, awaiting payment, 99.00; no session a day before.
//	BO3  oA  03-01 12:00, paid 12:01, 50.00, chan mp_1, scene 1058, guide G1,
//	         store SHOP1, goods S1 x1; refunded (1290) 03-02 10:00.
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a local Shanghai time "2006-01-02 15:04:05".
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// The SDK context blocks of the sessions, as the SDK spreads them over
// every event it uploads.
const (
	userA = `{"app_id":"wx1","local_id":"lA","open_id":"oA","union_id":"unA"}`
	userB = `{"app_id":"wx1","local_id":"lB","open_id":"oB"}`
	userC = `{"app_id":"wx1","local_id":"lC"}`
	userD = `{"app_id":"wx1","local_id":"lD","open_id":"oD","union_id":"unD"}`

	chanA1 = `{"chan_wxapp_scene":1058,"chan_id":"mp_1","chan_refer_app_id":"wxOA","guide_id":"G1",` +
		`"chan_shop_id":"SHOP1","chan_shop_name":"Store One","chan_custom":{"chan_custom_id":"art-1",` +
		`"chan_custom_id_desc":"Article 1","chan_custom_cat_3":"article","chan_custom_cat_2":"content","chan_custom_cat_1":"owned"}}`
	chanA2 = `{"chan_wxapp_scene":1001,"chan_id":"search_1"}`
	chanA3 = `{"chan_wxapp_scene":1001}`
	chanB1 = `{"chan_wxapp_scene":1089,"chan_id":"live_1","room_id":"R1","chan_shop_id":"SHOP1","chan_shop_name":"Store One"}`
	chanC1 = `{"chan_wxapp_scene":1007,"chan_id":"share_1","guide_id":"G1"}`
	chanD0 = `{"chan_wxapp_scene":1035,"chan_refer_app_id":"wxOA"}`
	chanD1 = `{"chan_wxapp_scene":1035,"chan_id":"mp_2","chan_refer_app_id":"wxOA"}`

	skuS1 = `"sku":{"sku_id":"S1","sku_name":"Lychee 2kg"},"spu":{"spu_id":"P1","spu_name":"Lychee"},"sale":{"original_price":49.9,"current_price":30}`
	skuS2 = `"sku":{"sku_id":"S2","sku_name":"Durian 1kg"},"spu":{"spu_id":"P2","spu_name":"Durian"},"sale":{"original_price":120,"current_price":100}`
)

// session is the events of one SDK session (one tracking_id).
type session struct {
	tracking, user, chn string
	events              []sdkEvent
}

// sdkEvent is one event: its type, local time and own props (JSON members
// without braces; page and page_title are part of them).
type sdkEvent struct {
	typ, time, props string
}

func order(id, status string, payYuan string) string {
	return fmt.Sprintf(`"page":"pages/order/confirm","page_title":"Confirm order","order":{"order_id":%q,"order_time":1772330400000,"order_status":%q},"sub_orders":[{"sub_order_id":%q,"order_amt":%s,"pay_amt":%s}]`,
		id, status, id, payYuan, payYuan)
}

var fixtureSessions = []session{
	{"tA1", userA, chanA1, []sdkEvent{
		{"app_launch", "2026-03-01 10:00:00", `"page":"pages/index/index?chan_id=mp_1","page_title":"Home","is_sdk_auto_track":true`},
		{"browse_wxapp_page", "2026-03-01 10:00:01", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true,"is_newly_open":true`},
		{"search", "2026-03-01 10:00:10", `"page":"pages/search/index","page_title":"Search","keyword":"Lychee"`},
		{"expose_sku_component", "2026-03-01 10:00:20", `"page":"pages/search/index","page_title":"Search",` + skuS1},
		{"trigger_sku_component", "2026-03-01 10:00:30", `"page":"pages/search/index","page_title":"Search",` + skuS1},
		{"browse_sku_page", "2026-03-01 10:00:40", `"page":"pages/goods/detail?sku_id=S1","page_title":"Detail",` + skuS1},
		{"add_to_cart", "2026-03-01 10:00:50", `"page":"pages/goods/detail?sku_id=S1","page_title":"Detail","action_type":"append_to_cart","sku_num":2,` + skuS1},
		{"custom_order", "2026-03-01 10:01:00", order("O1", "give_order", "60")},
		{"leave_wxapp_page", "2026-03-01 10:01:10", `"page":"pages/order/confirm","page_title":"Confirm order","is_sdk_auto_track":true,"stay_time":30000`},
		{"page_share_app_message", "2026-03-01 10:01:20", `"page":"pages/goods/detail?sku_id=S1","page_title":"Detail","is_sdk_auto_track":true,"from_type":"button","share_to":"friends","share_path":"pages/goods/detail?sku_id=S1"`},
		// Not behaviours: counted by the events analysis only.
		{"element", "2026-03-01 10:01:30", `"page":"pages/goods/detail?sku_id=S1","element_id":"buy"`},
		{"coupon_claimed", "2026-03-01 10:01:40", `"page":"pages/goods/detail?sku_id=S1","coupon_id":"C1"`},
	}},
	{"tA2", userA, chanA2, []sdkEvent{
		{"app_show", "2026-03-02 09:00:00", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
		{"custom_order", "2026-03-02 09:00:10", order("O1", "payed", "60")},
		{"browse_wxapp_page", "2026-03-02 09:00:20", `"page":"pages/order/detail","page_title":"Order","is_sdk_auto_track":true`},
		{"leave_wxapp_page", "2026-03-02 09:00:30", `"page":"pages/order/detail","page_title":"Order","is_sdk_auto_track":true,"stay_time":10000`},
	}},
	{"tA3", userA, chanA3, []sdkEvent{
		{"app_show", "2026-03-03 10:00:00", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
	}},
	{"tB1", userB, chanB1, []sdkEvent{
		{"app_launch", "2026-03-01 23:59:50", `"page":"pages/live/room?room_id=R1","page_title":"Live","is_sdk_auto_track":true`},
		{"browse_wxapp_page", "2026-03-01 23:59:55", `"page":"pages/live/room","page_title":"Live","is_sdk_auto_track":true`},
		{"expose_sku_component", "2026-03-01 23:59:58", `"page":"pages/live/room","page_title":"Live",` + skuS2},
		{"custom_order", "2026-03-01 23:59:59", order("O2", "give_order", "100")},
		{"custom_order", "2026-03-02 00:00:05", order("O2", "payed", "100")},
		{"leave_wxapp_page", "2026-03-02 00:00:08", `"page":"pages/live/room","page_title":"Live","is_sdk_auto_track":true,"stay_time":15000`},
		{"custom_order", "2026-03-02 00:00:09", order("O2", "refund", "100")},
	}},
	{"tC1", userC, chanC1, []sdkEvent{
		{"app_launch", "2026-03-02 12:00:00", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
		{"browse_wxapp_page", "2026-03-02 12:00:05", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
		{"search", "2026-03-02 12:00:10", `"page":"pages/search/index","page_title":"Search","keyword":"lychee "`},
		{"search", "2026-03-02 12:00:20", `"page":"pages/search/index","page_title":"Search","keyword":"Durian"`},
		{"expose_sku_component", "2026-03-02 12:00:30", `"page":"pages/search/index","page_title":"Search",` + skuS1},
		{"trigger_sku_component", "2026-03-02 12:00:40", `"page":"pages/search/index","page_title":"Search",` + skuS1},
		{"add_to_cart", "2026-03-02 12:00:50", `"page":"pages/goods/detail?sku_id=S1","page_title":"Detail","action_type":"append_to_cart","sku_num":1,` + skuS1},
		{"add_to_cart", "2026-03-02 12:00:55", `"page":"pages/cart/index","page_title":"Cart","action_type":"remove_from_cart","sku_num":1,` + skuS1},
		{"custom_order", "2026-03-02 12:01:00", order("O3", "give_order", "30")},
		{"custom_order", "2026-03-02 12:01:10", order("O3", "cancel_give_order", "30")},
	}},
	{"tD0", userD, chanD0, []sdkEvent{
		{"app_launch", "2026-02-28 20:00:00", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
	}},
	{"tD1", userD, chanD1, []sdkEvent{
		{"app_show", "2026-03-02 14:00:00", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
		{"browse_sku_page", "2026-03-02 14:00:10", `"page":"pages/goods/detail?sku_id=S2","page_title":"Detail",` + skuS2},
		{"custom_order", "2026-03-02 14:05:00", order("O4", "give_order", "50")},
		{"custom_order", "2026-03-02 14:06:00", order("O4", "payed", "50")},
		{"leave_wxapp_page", "2026-03-02 14:10:00", `"page":"pages/goods/detail?sku_id=S2","page_title":"Detail","is_sdk_auto_track":true,"stay_time":20000`},
	}},
}

// sdkJSON is the event as the SDK uploads it: the envelope, and props made
// of the event's own props, its time and the session's context.
func sdkJSON(s session, i int) json.RawMessage {
	e := s.events[i]
	return json.RawMessage(fmt.Sprintf(
		`{"type":%q,"from":"sr-sdk-wxapp","tracking_id":%q,"log_id":%d,"props":{%s,"time":%d,"wx_user":%s,"chan":%s,"sr_sdk_version":"2.1.1"}}`,
		e.typ, s.tracking, i, e.props, at(e.time).UnixMilli(), s.user, s.chn))
}

// backendOrders are the fixture's data-api orders, in the order they are
// sent (BO3 twice: paid, then refunded).
func backendOrders() []store.Order {
	o := func(id, open, union string, created, status string, code int64, fen int64) store.Order {
		ord := store.Order{
			ExternalID: id, CreateTime: at(created).UTC(), Source: "wxapp", Type: 1,
			GoodsNumTotal: 1, GoodsFen: fen, OrderFen: fen, PayableFen: fen, PaymentFen: fen,
			Status: code, StatusTime: at(status).UTC(), OpenID: open, UnionID: union, WxAppID: "wx1",
			Raw: json.RawMessage(fmt.Sprintf(`{"external_order_id":%q}`, id)),
		}
		if code != 1110 {
			ord.PaidTime = ord.StatusTime
		}
		return ord
	}
	o4 := o("O4", "oD", "unD", "2026-03-02 14:05:00", "2026-03-02 14:06:00", 1150, 4500)
	o4.Goods = []store.Goods{{SKUID: "S2", SKUName: "Durian 1kg", SPUID: "P2", SPUName: "Durian", GoodsFen: 10000, PaymentFen: 4500, Num: 1}}
	bo1 := o("BO1", "oD", "unD", "2026-03-02 15:00:00", "2026-03-02 15:01:00", 1150, 20000)
	bo1.GuideID, bo1.StoreID, bo1.StoreName = "G9", "SHOP2", "Store Two"
	bo1.GoodsNumTotal = 2
	bo1.Goods = []store.Goods{{SKUID: "S3", SKUName: "Mango box", SPUID: "P3", SPUName: "Mango", GoodsFen: 10000, PaymentFen: 20000, Num: 2,
		StoreID: "SHOP2", StoreName: "Store Two"}}
	bo2 := o("BO2", "oB", "", "2026-03-01 08:00:00", "2026-03-01 08:00:00", 1110, 9900)
	bo2.Goods = []store.Goods{{SKUID: "S2", SKUName: "Durian 1kg", SPUID: "P2", SPUName: "Durian", GoodsFen: 9900, PaymentFen: 9900, Num: 1}}
	bo3 := o("BO3", "oA", "unA", "2026-03-01 12:00:00", "2026-03-01 12:01:00", 1150, 5000)
	bo3.ChanID, bo3.ChanScene, bo3.ChanReferAppID, bo3.GuideID, bo3.StoreID, bo3.StoreName = "mp_1", 1058, "wxOA", "G1", "SHOP1", "Store One"
	bo3.Goods = []store.Goods{{SKUID: "S1", SKUName: "Lychee 2kg", SPUID: "P1", SPUName: "Lychee", GoodsFen: 5000, PaymentFen: 5000, Num: 1,
		StoreID: "SHOP1", StoreName: "Store One", ChanID: "mp_1"}}
	bo3r := bo3
	bo3r.Status, bo3r.StatusTime, bo3r.PaidTime = 1290, at("2026-03-02 10:00:00").UTC(), at("2026-03-02 10:00:00").UTC()
	return []store.Order{o4, bo1, bo2, bo3, bo3r}
}

const fixtureApp = "shop"

// fixture opens a store holding the dataset: the SDK events through the
// group-commit writer, one upload per session, then the backend orders.
func fixture(t testing.TB) store.Store {
	t.Helper()
	return fixtureOn(t, storetest.DuckDB)
}

// fixtureOn is fixture on a store of o.
func fixtureOn(t testing.TB, o storetest.Opener) store.Store {
	t.Helper()
	st := o.Open(t)
	ctx := context.Background()
	w := store.NewWriter(st, store.WriterOptions{})
	defer w.Close()
	for _, s := range fixtureSessions {
		b := &store.EventBatch{AppID: fixtureApp, ReceivedAt: at(s.events[len(s.events)-1].time).Add(time.Second)}
		for i := range s.events {
			ev, err := event.Parse(sdkJSON(s, i))
			if err != nil {
				t.Fatalf("session %s event %d: %v", s.tracking, i, err)
			}
			b.Events = append(b.Events, ev)
		}
		attribution.Resolve(b)
		res, err := w.Write(ctx, b)
		if err != nil {
			t.Fatalf("write session %s: %v", s.tracking, err)
		}
		if res.Accepted != len(s.events) {
			t.Fatalf("session %s: %+v", s.tracking, res)
		}
	}
	for _, o := range backendOrders() {
		if _, err := st.AddOrders(ctx, []*store.OrderBatch{{AppID: fixtureApp, ReceivedAt: o.StatusTime, Orders: []store.Order{o}}}); err != nil {
			t.Fatalf("add order %s: %v", o.ExternalID, err)
		}
	}
	fixtureArticles(t, st)
	return st
}

var fixtureTenant = &tenant.App{ID: fixtureApp, Name: "Shop", Location: shanghai}

// ask runs analysis name over from..to with the params given ("k=v&k=v").
func ask(t *testing.T, st store.Store, name, from, to, params string) *Result {
	t.Helper()
	res, err := askErr(st, name, from, to, params, false)
	if err != nil {
		t.Fatalf("%s?%s: %v", name, params, err)
	}
	return res
}

func askErr(st store.Store, name, from, to, params string, raw bool) (*Result, error) {
	vals, err := url.ParseQuery(params)
	if err != nil {
		return nil, err
	}
	q, err := ParseQuery(fixtureTenant, from, to, vals)
	if err != nil {
		return nil, err
	}
	q.raw = raw
	a, ok := Get(name)
	if !ok {
		return nil, fmt.Errorf("no analysis %q", name)
	}
	return a.Run(context.Background(), st, q)
}

// row finds the row whose first len(key) values are key.
func row(t *testing.T, res *Result, key ...any) map[string]any {
	t.Helper()
	for _, r := range res.Rows {
		match := true
		for i, k := range key {
			if fmt.Sprint(r[i]) != fmt.Sprint(k) {
				match = false
				break
			}
		}
		if match {
			m := map[string]any{}
			for i, c := range res.Columns {
				m[c.Name] = r[i]
			}
			return m
		}
	}
	t.Fatalf("%s: no row %v in\n%s", res.Analysis, key, dump(res))
	return nil
}

func dump(res *Result) string {
	var b strings.Builder
	for _, c := range res.Columns {
		fmt.Fprintf(&b, "%s\t", c.Name)
	}
	b.WriteString("\n")
	for _, r := range res.Rows {
		for _, v := range r {
			fmt.Fprintf(&b, "%v\t", v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// want compares a row's columns with hand-computed values: ints as int64,
// ratios within 1e-9, nil for NULL.
func want(t *testing.T, what string, got map[string]any, exp map[string]any) {
	t.Helper()
	for k, w := range exp {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: no column %s", what, k)
			continue
		}
		switch wv := w.(type) {
		case float64:
			gv, ok := g.(float64)
			if !ok || math.Abs(gv-wv) > 1e-9 {
				t.Errorf("%s: %s = %v (%T), want %v", what, k, g, g, wv)
			}
		case int:
			if gv, ok := g.(int64); !ok || gv != int64(wv) {
				t.Errorf("%s: %s = %v (%T), want %d", what, k, g, g, wv)
			}
		case nil:
			if g != nil {
				t.Errorf("%s: %s = %v, want NULL", what, k, g)
			}
		default:
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("%s: %s = %v, want %v", what, k, g, w)
			}
		}
	}
}
