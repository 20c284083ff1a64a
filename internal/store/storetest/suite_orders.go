package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// testOrder is an order with two goods lines in status at the given time;
// statuses from 1140 on count as paid, like the domain decides.
func testOrder(id string, status int64, at time.Time) store.Order {
	o := store.Order{
		ExternalID: id, CreateTime: t0, Source: "wxapp", Type: 1, GoodsNumTotal: 3,
		GoodsFen: 9000, FreightFen: 1000, OrderFen: 10000, PayableFen: 9500, PaymentFen: 9500,
		Status: status, StatusTime: at, OpenID: "o-" + id, UnionID: "u-" + id,
		Goods: []store.Goods{
			{SKUID: "s1", SKUName: "tea", SPUID: "p1", SPUName: "tea", GoodsFen: 3000, PaymentFen: 5700, Num: 2},
			{SKUID: "s2", SKUName: "cup", SPUID: "p2", SPUName: "cup", GoodsFen: 3000, PaymentFen: 2800, Num: 1, StoreID: "st1"},
		},
		Raw: json.RawMessage(fmt.Sprintf(`{"external_order_id":%q,"order_status":"%d"}`, id, status)),
	}
	if status >= 1140 && status != 9999 {
		o.PaidTime = at
	}
	return o
}

// TestOrder is testOrder for the stores' own tests.
func TestOrder(id string, status int64, at time.Time) store.Order { return testOrder(id, status, at) }

func addOrders(t *testing.T, st store.Store, orders ...store.Order) store.OrderResult {
	t.Helper()
	res, err := st.AddOrders(context.Background(), []*store.OrderBatch{{AppID: "a", ReceivedAt: t0, Orders: orders}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

type orderState struct {
	Status  int64
	At      time.Time
	Paid    *time.Time
	Payment int64
	Goods   int
	History int
}

func stateOf(t *testing.T, st store.Store, id string) orderState {
	t.Helper()
	var s orderState
	if err := st.DB().QueryRow(`SELECT status, status_change_time, paid_time, payment_fen,
		(SELECT count(*) FROM order_goods g WHERE g.app_id = o.app_id AND g.external_order_id = o.external_order_id),
		(SELECT count(*) FROM order_status_history h WHERE h.app_id = o.app_id AND h.external_order_id = o.external_order_id)
		FROM orders o WHERE app_id = 'a' AND external_order_id = $1`, id).Scan(&s.Status, &s.At, &s.Paid, &s.Payment, &s.Goods, &s.History); err != nil {
		t.Fatalf("order %s: %v", id, err)
	}
	s.At = s.At.UTC()
	if s.Paid != nil {
		p := s.Paid.UTC()
		s.Paid = &p
	}
	return s
}

func ptr(t time.Time) *time.Time { return &t }

func testAddOrdersStatusFlow(t *testing.T, o Opener) {
	st := o.Open(t)
	t1, t2, t3 := t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute)

	res := addOrders(t, st, testOrder("A", 1110, t0))
	if res.Created != 1 || res.Updated != 0 || len(res.Paid) != 0 {
		t.Fatalf("create: %+v", res)
	}
	// Paid, then shipped: only the first makes it paid.
	res = addOrders(t, st, testOrder("A", 1150, t1))
	want := []store.PaidOrder{{AppID: "a", ExternalID: "A", PaidTime: t1, PaymentFen: 9500, OpenID: "o-A", UnionID: "u-A"}}
	if res.Updated != 1 || !reflect.DeepEqual(res.Paid, want) {
		t.Fatalf("paid: %+v", res)
	}
	res = addOrders(t, st, testOrder("A", 1160, t3))
	if res.Updated != 1 || len(res.Paid) != 0 {
		t.Fatalf("shipped: %+v", res)
	}
	// An older update arrives late: kept in the history, not applied.
	late := testOrder("A", 1150, t2)
	late.PaymentFen = 1
	res = addOrders(t, st, late)
	if res.Stale != 1 || res.Updated != 0 || len(res.Paid) != 0 {
		t.Fatalf("late: %+v", res)
	}
	got := stateOf(t, st, "A")
	if want := (orderState{Status: 1160, At: t3, Paid: ptr(t1), Payment: 9500, Goods: 2, History: 4}); !reflect.DeepEqual(got, want) {
		t.Fatalf("after late update: %+v, want %+v", got, want)
	}
	// The same call again changes nothing.
	res = addOrders(t, st, testOrder("A", 1160, t3))
	if res.Updated != 1 || len(res.Paid) != 0 {
		t.Fatalf("repeat: %+v", res)
	}
	if got2 := stateOf(t, st, "A"); !reflect.DeepEqual(got2, got) {
		t.Fatalf("repeat changed the order: %+v, was %+v", got2, got)
	}
}

func testAddOrdersPaidOutOfOrder(t *testing.T, o Opener) {
	st := o.Open(t)
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	// Shipped arrives before paid: paid at the shipped time, then the
	// earlier paid time, without a second "became paid".
	if res := addOrders(t, st, testOrder("B", 1160, t2)); len(res.Paid) != 1 || !res.Paid[0].PaidTime.Equal(t2) {
		t.Fatalf("shipped first: %+v", res)
	}
	if res := addOrders(t, st, testOrder("B", 1150, t1)); res.Stale != 1 || len(res.Paid) != 0 {
		t.Fatalf("paid late: %+v", res)
	}
	if got := stateOf(t, st, "B"); got.Status != 1160 || !got.Paid.Equal(t1) || got.History != 2 {
		t.Fatalf("state: %+v", got)
	}
	// Several statuses of one order in one call.
	res := addOrders(t, st, testOrder("C", 1180, t2), testOrder("C", 1110, t0), testOrder("C", 1150, t1))
	if res.Created != 1 || len(res.Paid) != 1 || !res.Paid[0].PaidTime.Equal(t1) {
		t.Fatalf("one call: %+v", res)
	}
	if got := stateOf(t, st, "C"); got.Status != 1180 || got.History != 3 {
		t.Fatalf("state: %+v", got)
	}
}

func testAddOrdersReplacesChangedGoods(t *testing.T, o Opener) {
	st := o.Open(t)
	addOrders(t, st, testOrder("G", 1110, t0), testOrder("H", 1110, t0))
	g := testOrder("G", 1150, t0.Add(time.Minute))
	g.Goods = g.Goods[:1]
	g.Goods[0].Num = 3
	addOrders(t, st, g)
	var n, units int
	if err := st.DB().QueryRow(`SELECT count(*), sum(goods_num) FROM order_goods WHERE external_order_id = 'G'`).Scan(&n, &units); err != nil {
		t.Fatal(err)
	}
	if n != 1 || units != 3 {
		t.Fatalf("goods of G: %d lines, %d units; want 1, 3", n, units)
	}
	if got := stateOf(t, st, "H"); got.Goods != 2 {
		t.Fatalf("H lost goods: %+v", got)
	}
}

func testAddOrdersSeveralBatches(t *testing.T, o Opener) {
	st := o.Open(t)
	t1 := t0.Add(time.Minute)
	// Two calls committed together name the same order: the second is
	// applied after the first, in a round of its own.
	res, err := st.AddOrders(context.Background(), []*store.OrderBatch{
		{AppID: "a", ReceivedAt: t0, Orders: []store.Order{testOrder("A", 1110, t0), testOrder("B", 1110, t0)}},
		{AppID: "b", ReceivedAt: t0, Orders: []store.Order{testOrder("A", 1150, t1)}}, // another app's A
		{AppID: "a", ReceivedAt: t0, Orders: []store.Order{testOrder("A", 1150, t1)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Created != 2 || res[1].Created != 1 || len(res[1].Paid) != 1 || res[2].Updated != 1 || len(res[2].Paid) != 1 {
		t.Fatalf("results %+v", res)
	}
	if got := stateOf(t, st, "A"); got.Status != 1150 || got.History != 2 || got.Goods != 2 {
		t.Fatalf("A of app a: %+v", got)
	}
	if n := Count(t, st, `SELECT count(*) FROM orders WHERE external_order_id = 'A'`); n != 2 {
		t.Fatalf("orders A: %d, want one per app", n)
	}
}

func testAddOrdersHookRollsBack(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	boom := errors.New("outbox full")
	var seen []store.PaidOrder
	_, err := st.AddOrders(ctx, []*store.OrderBatch{{AppID: "a", ReceivedAt: t0,
		Orders: []store.Order{testOrder("P", 1150, t0), testOrder("Q", 1110, t0)},
		OnPaid: func(ctx context.Context, tx store.Tx, paid []store.PaidOrder) error {
			seen = paid
			if _, err := tx.AddConversions(ctx, []store.Conversion{conv("c-P", "a")}); err != nil {
				return err
			}
			return boom
		}}})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the hook's", err)
	}
	if len(seen) != 1 || seen[0].ExternalID != "P" {
		t.Fatalf("hook got %+v", seen)
	}
	for _, table := range []string{"orders", "order_goods", "order_status_history", "ad_conversions"} {
		if n := Count(t, st, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%s: %d rows after rollback", table, n)
		}
	}
	// A hook writing through tx commits with the orders.
	if _, err := st.AddOrders(ctx, []*store.OrderBatch{{AppID: "a", ReceivedAt: t0,
		Orders: []store.Order{testOrder("P", 1150, t0)},
		OnPaid: func(ctx context.Context, tx store.Tx, paid []store.PaidOrder) error {
			_, err := tx.AddConversions(ctx, []store.Conversion{conv("c-"+paid[0].ExternalID, paid[0].AppID)})
			return err
		}}}); err != nil {
		t.Fatal(err)
	}
	if n := Count(t, st, `SELECT count(*) FROM ad_conversions WHERE id = 'c-P'`); n != 1 {
		t.Fatalf("hook row: %d", n)
	}
}

func testOrderSumsAndPages(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	d1 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	sums := []store.OrderSum{
		{Day: d1, GiveOrderFen: 100, GiveOrderNum: 1, PaymentFen: 100, PayedNum: 1, Raw: json.RawMessage(`{}`)},
		{Day: d1, GiveOrderFen: 200, GiveOrderNum: 2, PaymentFen: 150, PayedNum: 1, Raw: json.RawMessage(`{}`)},
	}
	if err := st.AddOrderSums(ctx, "a", sums, t0); err != nil {
		t.Fatal(err)
	}
	if err := st.AddOrderSums(ctx, "a", sums[1:], t0); err != nil {
		t.Fatal(err)
	}
	var day string
	var fen, num int
	if err := st.DB().QueryRow(`SELECT CAST(ref_date AS VARCHAR), give_order_fen, give_order_num FROM order_sums`).Scan(&day, &fen, &num); err != nil {
		t.Fatal(err)
	}
	if day != "2025-03-01" || fen != 200 || num != 2 {
		t.Fatalf("sum: %s %d %d", day, fen, num)
	}

	pages := []store.VisitPage{
		{Day: d1, PagePath: "pages/index/index", Page: "pages/index/index", VisitPV: 10, VisitUV: 5, StayTimePV: 3.5},
		{Day: d1, PagePath: "pages/cart/cart", Page: "pages/cart/cart", VisitPV: 4},
		{Day: d1, PagePath: "pages/index/index", Page: "pages/index/index", VisitPV: 12, VisitUV: 6},
	}
	for range 2 {
		if err := st.AddVisitPages(ctx, "a", pages, t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := Count(t, st, `SELECT count(*) FROM wxapp_visit_pages`); n != 2 {
		t.Fatalf("pages: %d rows", n)
	}
	if n := Count(t, st, `SELECT page_visit_pv FROM wxapp_visit_pages WHERE page_path = 'pages/index/index'`); n != 12 {
		t.Fatalf("index pv: %d", n)
	}
}

func testDataSources(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	ds, created, err := st.AddDataSource(ctx, store.DataSource{AppID: "a", ID: "100", Type: 0, MerchantID: "m", CreatedAt: t0})
	if err != nil || !created || ds.ID != "100" {
		t.Fatalf("add: %+v %v %v", ds, created, err)
	}
	ds, created, err = st.AddDataSource(ctx, store.DataSource{AppID: "a", ID: "200", Type: 0, CreatedAt: t0})
	if err != nil || created || ds.ID != "100" || ds.MerchantID != "m" {
		t.Fatalf("second of type 0: %+v %v %v", ds, created, err)
	}
	if _, _, err := st.AddDataSource(ctx, store.DataSource{AppID: "a", ID: "300", Type: 51, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddDataSource(ctx, store.DataSource{AppID: "b", ID: "100", Type: 0, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	list, err := st.DataSources(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "100" || list[1].ID != "300" || !list[0].CreatedAt.Equal(t0) {
		t.Fatalf("list: %+v", list)
	}
}
