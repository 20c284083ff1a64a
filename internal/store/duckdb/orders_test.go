package duckdb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
)

var t0 = time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)

func addOrders(t *testing.T, st store.Store, orders ...store.Order) store.OrderResult {
	t.Helper()
	res, err := st.AddOrders(context.Background(), []*store.OrderBatch{{AppID: "a", ReceivedAt: t0, Orders: orders}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

// The embedded store appends the orders its key filter proves new, and
// merges the others; an order written around AddOrders makes the fast
// path's insert fail on the key, the filter is rebuilt and the call goes
// through. (The storage contract itself is tested by storetest.Run.)
func TestAddOrdersBehindTheFilter(t *testing.T) {
	st := storetest.Open(t)
	addOrders(t, st, storetest.TestOrder("X", 1110, t0))
	if _, err := st.DB().Exec(`INSERT INTO orders SELECT * REPLACE ('Y' AS external_order_id) FROM orders WHERE external_order_id = 'X'`); err != nil {
		t.Fatal(err)
	}
	res := addOrders(t, st, storetest.TestOrder("Y", 1150, t0.Add(time.Minute)), storetest.TestOrder("Z", 1110, t0))
	if res.Created != 1 || res.Updated != 1 || len(res.Paid) != 1 || res.Paid[0].ExternalID != "Y" {
		t.Fatalf("result %+v", res)
	}
	if n := storetest.Count(t, st, `SELECT status FROM orders WHERE external_order_id = 'Y'`); n != 1150 {
		t.Fatalf("Y: status %d", n)
	}
}

// BenchmarkAddOrders is the store alone: 15 concurrent add_order calls of
// 50 new orders (three goods lines, 1.3 KB of raw JSON each) per commit,
// as the data-api's group commit hands them over under load.
func BenchmarkAddOrders(b *testing.B) {
	st := storetest.Open(b)
	ctx := context.Background()
	const calls, perCall = 15, 50
	n := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		batches := make([]*store.OrderBatch, calls)
		for c := range batches {
			orders := make([]store.Order, perCall)
			for j := range orders {
				n++
				o := storetest.TestOrder(fmt.Sprint("bench-", n), 1150, t0.Add(time.Duration(n)*time.Second))
				o.Goods = append(o.Goods, o.Goods[0])
				o.Goods[2].SKUID = "s3"
				o.Raw = json.RawMessage(fmt.Sprintf(`{"external_order_id":"bench-%d","padding":"%01250d"}`, n, 0))
				orders[j] = o
			}
			batches[c] = &store.OrderBatch{AppID: "a", ReceivedAt: t0, Orders: orders}
		}
		b.StartTimer()
		if _, err := st.AddOrders(ctx, batches); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "orders/s")
}
