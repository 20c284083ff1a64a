package analysis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// cst is a wall-clock time in Shanghai (UTC+8) in March 2025.
func cst(day, hour, min, sec int) time.Time {
	return time.Date(2025, 3, day, hour, min, sec, 0, time.FixedZone("CST", 8*3600)).UTC()
}

// ordOrder is a stored order; paid is the time of its first paid status
// (zero if never paid), as the data-api decides it.
type ordOrder struct {
	id               string
	created          time.Time
	orderFen, payFen int64
	open, union      string
	deleted          bool
	statuses         []ordStatus
}

type ordStatus struct {
	code int64
	at   time.Time
	paid bool
}

func ordStore(t *testing.T, orders []ordOrder) store.Store {
	t.Helper()
	st := storetest.Open(t)
	ctx := context.Background()
	for _, o := range orders {
		// One call per status, in the order given, like a merchant's
		// backend reporting each change.
		for _, s := range o.statuses {
			so := store.Order{
				ExternalID: o.id, CreateTime: o.created, Source: "wxapp", Type: 1, GoodsNumTotal: 1,
				GoodsFen: o.orderFen, OrderFen: o.orderFen, PayableFen: o.payFen, PaymentFen: o.payFen,
				Status: s.code, StatusTime: s.at, OpenID: o.open, UnionID: o.union, Deleted: o.deleted,
				Goods: []store.Goods{{SKUID: "s", SKUName: "s", SPUID: "s", SPUName: "s", GoodsFen: o.orderFen, PaymentFen: o.payFen, Num: 1}},
				Raw:   json.RawMessage(`{}`),
			}
			if s.paid {
				so.PaidTime = s.at
			}
			if _, err := st.AddOrders(ctx, []*store.OrderBatch{{AppID: "shop", ReceivedAt: s.at, Orders: []store.Order{so}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return st
}

// The dataset, in Shanghai time. Order B is created at 23:30 on the 1st
// and paid at 00:10 on the 2nd; G is created on 28 February and paid on
// the 1st; C is refunded on the 2nd; E is deleted; F has no open_id.
var ordDataset = []ordOrder{
	{id: "A", created: cst(1, 9, 0, 0), orderFen: 11000, payFen: 10000, open: "oA", statuses: []ordStatus{
		{1110, cst(1, 9, 0, 0), false}, {1150, cst(1, 9, 5, 0), true}}},
	{id: "B", created: cst(1, 23, 30, 0), orderFen: 5000, payFen: 5000, open: "oB", statuses: []ordStatus{
		{1110, cst(1, 23, 30, 0), false}, {1150, cst(2, 0, 10, 0), true}}},
	{id: "C", created: cst(1, 12, 0, 0), orderFen: 8000, payFen: 8000, open: "oA", statuses: []ordStatus{
		{1150, cst(1, 12, 1, 0), true}, {1290, cst(2, 11, 0, 0), true}, {1280, cst(2, 10, 0, 0), true}}},
	{id: "D", created: cst(2, 8, 0, 0), orderFen: 3000, payFen: 3000, open: "oD", statuses: []ordStatus{
		{1110, cst(2, 8, 0, 0), false}}},
	{id: "E", created: cst(2, 9, 0, 0), orderFen: 7000, payFen: 7000, open: "oE", deleted: true, statuses: []ordStatus{
		{1150, cst(2, 9, 30, 0), true}}},
	{id: "F", created: cst(2, 20, 0, 0), orderFen: 2000, payFen: 2000, union: "uF", statuses: []ordStatus{
		{1150, cst(2, 20, 5, 0), true}}},
	{id: "G", created: cst(0, 23, 59, 0), orderFen: 4000, payFen: 4000, open: "oG", statuses: []ordStatus{
		{1150, cst(1, 0, 1, 0), true}}},
}

func ordRun(t *testing.T, st store.Store, name, from, to string) *analysis.Result {
	t.Helper()
	a, ok := analysis.Get(name)
	if !ok {
		t.Fatalf("analysis %s not registered", name)
	}
	app := &tenant.App{ID: "shop", Location: time.FixedZone("Asia/Shanghai", 8*3600)}
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		app.Location = loc
	}
	q, err := analysis.ParseQuery(app, from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(context.Background(), st, q)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ordRows turns int into int64 so expected rows compare with results.
func ordRows(rows ...[]any) [][]any {
	for _, r := range rows {
		for i, v := range r {
			if n, ok := v.(int); ok {
				r[i] = int64(n)
			}
		}
	}
	return rows
}

func ordCompare(t *testing.T, res *analysis.Result, want [][]any) {
	t.Helper()
	if len(res.Rows) != len(want) {
		t.Fatalf("%s: %d rows, want %d: %v", res.Analysis, len(res.Rows), len(want), res.Rows)
	}
	for i := range want {
		if len(res.Rows[i]) != len(res.Columns) {
			t.Fatalf("%s row %d: %d values for %d columns", res.Analysis, i, len(res.Rows[i]), len(res.Columns))
		}
		for j := range want[i] {
			if !reflect.DeepEqual(res.Rows[i][j], want[i][j]) {
				t.Errorf("%s row %d (%v) %s = %#v, want %#v", res.Analysis, i, res.Rows[i][0], res.Columns[j].Name, res.Rows[i][j], want[i][j])
			}
		}
	}
}

func TestOrdersAnalysis(t *testing.T) {
	st := ordStore(t, ordDataset)
	res := ordRun(t, st, "orders", "2025-03-01", "2025-03-03")
	// 1 March: created A, B, C (B at 23:30); paid A, C and G (G at 00:01):
	// 10000 + 8000 + 4000 = 22000 from oA (twice) and oG; 22000 / 3 = 7333.
	// 2 March: created D, F (E is deleted); paid B (00:10) and F: 5000 +
	// 2000 = 7000 from oB and uF; C first refunded (1280) at 10:00: 8000.
	// 3 March: nothing, still a row.
	ordCompare(t, res, ordRows(
		[]any{"2025-03-01", 3, 3, 22000, 2, 0, 0, 7333},
		[]any{"2025-03-02", 2, 2, 7000, 2, 1, 8000, 3500},
		[]any{"2025-03-03", 0, 0, 0, 0, 0, 0, nil},
	))
}

func ordEvent(t *testing.T, typ, tracking string, at time.Time, open string, props string) event.Event {
	t.Helper()
	raw := fmt.Sprintf(`{"type":%q,"tracking_id":%q,"log_id":1,"props":{"time":%d,"wx_user":{"open_id":%q},"chan":{"chan_wxapp_scene":1001}%s}}`,
		typ, tracking, at.UnixMilli(), open, props)
	ev, err := event.Parse(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return ev
}

func ordWriteEvents(t *testing.T, st store.Store, evs ...event.Event) {
	t.Helper()
	b := &store.EventBatch{AppID: "shop", ReceivedAt: cst(3, 0, 0, 0), Events: evs}
	attribution.Resolve(b)
	if _, err := st.WriteEvents(context.Background(), []*store.EventBatch{b}); err != nil {
		t.Fatal(err)
	}
}

func customOrder(t *testing.T, id, status string, at time.Time, orderAmt, payAmt float64) event.Event {
	return ordEvent(t, "custom_order", "T-"+id+"-"+status+at.String(), at, "o"+id, fmt.Sprintf(
		`,"page":"pages/pay/pay","order":{"order_id":%q,"order_time":%d,"order_status":%q},"sub_orders":[{"sub_order_id":%q,"order_amt":%v,"pay_amt":%v}]`,
		id, at.UnixMilli(), status, id, orderAmt, payAmt))
}

func TestReconciliationAnalysis(t *testing.T) {
	st := ordStore(t, ordDataset)
	ctx := context.Background()
	if err := st.AddOrderSums(ctx, "shop", []store.OrderSum{
		{Day: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), GiveOrderNum: 3, GiveOrderFen: 24000, PayedNum: 3, PaymentFen: 22000, Raw: json.RawMessage(`{}`)},
		{Day: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), GiveOrderNum: 3, GiveOrderFen: 6000, PayedNum: 2, PaymentFen: 7000, Raw: json.RawMessage(`{}`)},
	}, cst(3, 6, 0, 0)); err != nil {
		t.Fatal(err)
	}
	ordWriteEvents(t, st,
		customOrder(t, "A", "give_order", cst(1, 9, 0, 0), 110, 100),
		customOrder(t, "A", "give_order", cst(1, 9, 1, 0), 110, 100), // sent again a minute later
		customOrder(t, "A", "payed", cst(1, 9, 5, 0), 110, 100),
		customOrder(t, "X", "give_order", cst(2, 10, 0, 0), 30, 30),
		customOrder(t, "B", "payed", cst(2, 0, 10, 0), 50, 50),
		customOrder(t, "B", "pay", cst(2, 0, 9, 0), 50, 50), // payment started: not counted
	)
	res := ordRun(t, st, "reconciliation", "2025-03-01", "2025-03-03")
	// Stored orders as in TestOrdersAnalysis; order amounts: 1 March A, B,
	// C = 11000 + 5000 + 8000 = 24000; 2 March D, F = 3000 + 2000 = 5000.
	// SDK: 1 March A placed (110.00) and paid (100.00); 2 March X placed
	// (30.00) and B paid (50.00).
	ordCompare(t, res, ordRows(
		[]any{"2025-03-01", 3, 24000, 3, 22000, 3, 24000, 3, 22000, 1, 11000, 1, 10000,
			0, 0, 0, 0, 1 - 3, 11000 - 24000, 1 - 3, 10000 - 22000, "ok"},
		[]any{"2025-03-02", 3, 6000, 2, 7000, 2, 5000, 2, 7000, 1, 3000, 1, 5000,
			2 - 3, 5000 - 6000, 0, 0, 1 - 3, 3000 - 6000, 1 - 2, 5000 - 7000, "differs"},
		[]any{"2025-03-03", nil, nil, nil, nil, 0, 0, 0, 0, 0, 0, 0, 0,
			nil, nil, nil, nil, nil, nil, nil, nil, "no_sum"},
	))
}

func TestPagesAnalysis(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	d1 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := st.AddVisitPages(ctx, "shop", []store.VisitPage{
		{Day: d1, PagePath: "/pages/index/index", Page: "pages/index/index", VisitPV: 10, VisitUV: 6, StayTimePV: 4.5,
			EntryPV: 8, ExitPV: 3, SharePV: 1, ShareUV: 1},
		{Day: d1, PagePath: "pages/cart/cart", Page: "pages/cart/cart", VisitPV: 4, VisitUV: 3, StayTimePV: 2, ExitPV: 2},
		// Outside the range asked.
		{Day: d1.AddDate(0, 0, 5), PagePath: "pages/cart/cart", Page: "pages/cart/cart", VisitPV: 99},
	}, cst(2, 6, 0, 0)); err != nil {
		t.Fatal(err)
	}
	// The daily pull fetched 1 and 2 March too: the merchant pushed 1
	// March, so its figures stay the pushed ones, with the pull beside
	// them; 2 March only the pull has.
	pulled := func(day time.Time, pv map[string]int64) {
		t.Helper()
		m := &store.MiniDay{}
		for page, n := range pv {
			m.Pages = append(m.Pages, store.VisitPage{Day: day, PagePath: page, Page: page, VisitPV: n, VisitUV: 1, StayTimePV: 2.5})
		}
		if err := st.SavePulledDay(ctx, store.PulledDay{App: "shop", Family: "mini_program", Day: day, At: cst(3, 11, 0, 0), Mini: m}); err != nil {
			t.Fatal(err)
		}
	}
	pulled(d1, map[string]int64{"pages/index/index": 15, "pages/cart/cart": 5, "pages/user/user": 7})
	pulled(d1.AddDate(0, 0, 1), map[string]int64{"pages/index/index": 2})
	browse := func(tracking string, at time.Time, open, page string) event.Event {
		return ordEvent(t, "browse_wxapp_page", tracking, at, open, fmt.Sprintf(`,"page":%q`, page))
	}
	ordWriteEvents(t, st,
		browse("T1", cst(1, 9, 0, 0), "o1", "pages/index/index"),
		browse("T1", cst(1, 9, 10, 0), "o1", "pages/index/index"),
		browse("T2", cst(1, 10, 0, 0), "o2", "pages/index/index?from=ad"),
		browse("T3", cst(1, 23, 59, 59), "o3", "pages/index/index"),
		browse("T1", cst(1, 9, 20, 0), "o1", "pages/item/item"),
		browse("T1", cst(2, 0, 0, 0), "o1", "pages/index/index"),
		ordEvent(t, "app_show", "T1", cst(1, 9, 0, 1), "o1", `,"page":"pages/index/index"`),
	)
	res := ordRun(t, st, "pages", "2025-03-01", "2025-03-02")
	// 1 March index: WeChat 10 views by 6; the SDK 4 views (o1 twice, o2
	// with a query, o3 at 23:59:59) by 3. The item page only the SDK saw;
	// the cart only WeChat. 2 March 00:00: o1 on the index.
	ordCompare(t, res, ordRows(
		[]any{"2025-03-01", "pages/cart/cart", 4, 3, 2000, 0, 2, 0, 0, 0, 0, -4, "pushed", 5},
		[]any{"2025-03-01", "pages/index/index", 10, 6, 4500, 8, 3, 1, 1, 4, 3, -6, "pushed", 15},
		[]any{"2025-03-01", "pages/item/item", nil, nil, nil, nil, nil, nil, nil, 1, 1, nil, nil, nil},
		[]any{"2025-03-01", "pages/user/user", nil, nil, nil, nil, nil, nil, nil, 0, 0, nil, "pushed", 7},
		[]any{"2025-03-02", "pages/index/index", 2, 1, 2500, 0, 0, 0, 0, 1, 1, -1, "pulled", 2},
	))
}
