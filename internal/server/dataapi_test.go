package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/order"
	"github.com/shuyuan-dev/shuyuan/internal/order/ordertest"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

const (
	dataAPIAppID  = "ys-app-001"
	dataAPISecret = "data-api-secret-for-tests"
	dataAPIAdmin  = "data-api-admin-key-0123456789"
)

// dataAPIEnv is the real server with the data-api over a real DuckDB store
// on a loopback port, and a client signing like the public ones.
type dataAPIEnv struct {
	st     store.Store
	url    string
	client *ordertest.Client
	now    atomic.Int64 // the server's clock, Unix seconds
	source string       // a data source of type 0 of the app
}

var dataAPINow = time.Date(2025, 3, 2, 4, 0, 0, 0, time.UTC)

func newDataAPIEnv(t testing.TB) *dataAPIEnv { return newDataAPIEnvOn(t, storetest.DuckDB.Open(t)) }

// newDataAPIEnvOn serves the data-api over st.
func newDataAPIEnvOn(t testing.TB, st store.Store) *dataAPIEnv {
	t.Helper()
	tenants, err := tenant.NewRegistry([]*tenant.App{{ID: "shop", Name: "Shop", DataAPIAppID: dataAPIAppID, DataAPISecret: dataAPISecret}})
	if err != nil {
		t.Fatal(err)
	}
	e := &dataAPIEnv{st: st}
	e.now.Store(dataAPINow.Unix())
	clock := func() time.Time { return time.Unix(e.now.Load(), 0) }
	srv := server.New(server.Deps{
		Tenants: tenants, Store: e.st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		AdminKey: dataAPIAdmin, MaxBody: 1 << 20,
		Orders: order.NewService(e.st, tenants, order.Options{Now: clock}),
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	e.client = &ordertest.Client{BaseURL: hs.URL, AppID: dataAPIAppID, Secret: dataAPISecret, HTTP: hs.Client(), Now: clock}
	res := e.post(t, "/data_source/add", map[string]any{"merchantId": "m-1", "dataSourceType": 0})
	if res.Retcode != 0 {
		t.Fatalf("data_source/add: %+v", res)
	}
	var d struct{ DataSource order.DataSource }
	if err := json.Unmarshal(res.Data, &d); err != nil || d.DataSource.ID == "" {
		t.Fatalf("data_source/add data %s: %v", res.Data, err)
	}
	e.source = d.DataSource.ID
	return e
}

func (e *dataAPIEnv) post(t testing.TB, path string, body any) *ordertest.Response {
	t.Helper()
	res, err := e.client.Post(context.Background(), path, body)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *dataAPIEnv) orders(orders ...map[string]any) map[string]any {
	list := make([]any, len(orders))
	for i, o := range orders {
		list[i] = o
	}
	return map[string]any{"dataSourceId": e.source, "orders": list}
}

func (e *dataAPIEnv) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.st.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func wantRetcode(t *testing.T, res *ordertest.Response, code, status int, msgPart string) {
	t.Helper()
	if res.Retcode != code || res.Status != status || !strings.Contains(res.Errmsg, msgPart) {
		t.Errorf("got retcode %d HTTP %d %q; want %d HTTP %d containing %q", res.Retcode, res.Status, res.Errmsg, code, status, msgPart)
	}
}

var (
	created = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	paidAt  = created.Add(2 * time.Minute)
)

func TestDataAPISignature(t *testing.T) {
	e := newDataAPIEnv(t)
	body, _ := json.Marshal(e.orders(ordertest.Order("sig-1", created, 1110, created, "open-1")))
	ts := dataAPINow.Unix()
	signed := func(appID, secret, nonce string, ts int64) string {
		return order.SignedMessage(appID, nonce, ts) + "&signature=" + order.Sign(secret, appID, nonce, ts)
	}
	cases := []struct {
		name   string
		query  string
		code   int
		status int
		msg    string
	}{
		{"good", signed(dataAPIAppID, dataAPISecret, "nonce-good", ts), 0, 200, ""},
		{"good, uppercase hex", order.SignedMessage(dataAPIAppID, "nonce-upper", ts) + "&signature=" + strings.ToUpper(order.Sign(dataAPISecret, dataAPIAppID, "nonce-upper", ts)), 0, 200, ""},
		{"wrong secret", signed(dataAPIAppID, "not-the-secret", "nonce-bad", ts), 4103, 401, "signature: does not match"},
		{"signature of other nonce", order.SignedMessage(dataAPIAppID, "nonce-x", ts) + "&signature=" + order.Sign(dataAPISecret, dataAPIAppID, "nonce-y", ts), 4103, 401, "does not match"},
		{"expired", signed(dataAPIAppID, dataAPISecret, "nonce-old", ts-301), 4104, 401, "timestamp"},
		{"just inside the window", signed(dataAPIAppID, dataAPISecret, "nonce-edge", ts-300), 0, 200, ""},
		{"from the future", signed(dataAPIAppID, dataAPISecret, "nonce-future", ts+301), 4104, 401, "timestamp"},
		{"milliseconds", signed(dataAPIAppID, dataAPISecret, "nonce-ms", ts*1000), 4104, 401, "timestamp: must be Unix seconds"},
		{"microseconds", signed(dataAPIAppID, dataAPISecret, "nonce-us", ts*1000_000), 4104, 401, "timestamp: must be Unix seconds"},
		{"largest int64", signed(dataAPIAppID, dataAPISecret, "nonce-max", 1<<63-1), 4104, 401, "timestamp: must be Unix seconds"},
		{"most negative int64", signed(dataAPIAppID, dataAPISecret, "nonce-min", -1<<63), 4104, 401, "timestamp: must be Unix seconds"},
		{"replayed nonce", signed(dataAPIAppID, dataAPISecret, "nonce-good", ts), 4105, 401, "already used"},
		{"unknown app", signed("someone-else", dataAPISecret, "nonce-app", ts), 4102, 401, "app_id"},
		{"missing signature", order.SignedMessage(dataAPIAppID, "nonce-m", ts), 4101, 401, "signature"},
		{"md5", strings.Replace(signed(dataAPIAppID, dataAPISecret, "nonce-md5", ts), "sign=sha256", "sign=md5", 1), 4106, 400, "sign"},
	}
	for _, c := range cases {
		res, err := e.client.Do(context.Background(), http.MethodPost, "/order/add_order", c.query, body)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.name, func(t *testing.T) { wantRetcode(t, res, c.code, c.status, c.msg) })
	}
	// A replay refused, then the same nonce much later (another window) is
	// fresh again: the cache does not grow forever.
	e.now.Add(700)
	res, err := e.client.Do(context.Background(), http.MethodPost, "/order/add_order", signed(dataAPIAppID, dataAPISecret, "nonce-good", ts+700), body)
	if err != nil {
		t.Fatal(err)
	}
	wantRetcode(t, res, 0, 200, "")
}

// A signed URL captured and replayed after the server restarted, inside
// the timestamp window, with another body (the signature does not cover
// it) is refused: the nonces are kept in the store, not in memory.
func TestDataAPIReplayAfterRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, o storetest.Opener) {
		e := newDataAPIEnvOn(t, o.Open(t))
		ts := dataAPINow.Unix()
		query := order.SignedMessage(dataAPIAppID, "nonce-captured", ts) + "&signature=" + order.Sign(dataAPISecret, dataAPIAppID, "nonce-captured", ts)
		body, _ := json.Marshal(e.orders(ordertest.Order("real-1", created, 1110, created, "open-1")))
		res, err := e.client.Do(context.Background(), http.MethodPost, "/order/add_order", query, body)
		if err != nil {
			t.Fatal(err)
		}
		wantRetcode(t, res, 0, 200, "")
		e = newDataAPIEnvOn(t, o.Reopen(t, e.st)) // a restart
		e.now.Store(dataAPINow.Unix() + 60)
		forged := ordertest.Order("forged-1", created, 1150, paidAt, "open-1")
		forged["payment_amount"] = 99999900
		body, _ = json.Marshal(e.orders(forged))
		res, err = e.client.Do(context.Background(), http.MethodPost, "/order/add_order", query, body)
		if err != nil {
			t.Fatal(err)
		}
		wantRetcode(t, res, 4105, 401, "already used")
		if n := e.count(t, `SELECT count(*) FROM orders WHERE external_order_id = 'forged-1'`); n != 0 {
			t.Fatalf("the replayed call stored its order")
		}
	})
}

func TestDataAPIAddOrderStoresEverything(t *testing.T) {
	storetest.Each(t, func(t *testing.T, o storetest.Opener) { testDataAPIAddOrderStoresEverything(t, o.Open(t)) })
}

func testDataAPIAddOrderStoresEverything(t *testing.T, st store.Store) {
	e := newDataAPIEnvOn(t, st)
	o := ordertest.Order("full-1", created, 1150, paidAt, "open-1")
	o["invoice_info"] = []any{map[string]any{"if_need_invoice": true, "invoice_type": 1006}}
	res := e.post(t, "/order/add_order", e.orders(o))
	if res.Retcode != 0 || res.Status != 200 || res.Errmsg != "" {
		t.Fatalf("add_order: %+v", res)
	}
	var data order.OrdersAdded
	if err := json.Unmarshal(res.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data != (order.OrdersAdded{Received: 1, Created: 1, Paid: 1}) {
		t.Fatalf("data: %+v", data)
	}
	var (
		payment, orderFen, coupon, scene int64
		status                           int
		store, chanID, custom, open      string
		paid                             time.Time
		raw                              string
	)
	if err := e.st.DB().QueryRow(`SELECT payment_fen, order_fen, coupon_fen, chan_scene, status, store_id, chan_id,
		chan_custom_id, open_id, paid_time, CAST(raw AS VARCHAR) FROM orders WHERE app_id = 'shop' AND external_order_id = 'full-1'`).
		Scan(&payment, &orderFen, &coupon, &scene, &status, &store, &chanID, &custom, &open, &paid, &raw); err != nil {
		t.Fatal(err)
	}
	// 98.80 paid, 108.80 ordered, a 10.00 coupon (ordertest.Order).
	if payment != 9880 || orderFen != 10880 || coupon != 1000 || scene != 1047 || status != 1150 ||
		store != "store-hz-1" || chanID != "3_guide_0007" || custom != "mp-article-12375" || open != "open-1" || !paid.Equal(paidAt) {
		t.Errorf("typed columns: %d %d %d %d %d %s %s %s %s %v", payment, orderFen, coupon, scene, status, store, chanID, custom, open, paid)
	}
	for _, part := range []string{`"express_info"`, `"invoice_type"`, `"receiver_name"`, `"coupon_detail"`} {
		if !strings.Contains(raw, part) {
			t.Errorf("raw order lacks %s: %.300s", part, raw)
		}
	}
	// Stored as a JSON document, not a string: its members can be read.
	var receiver string
	member := `json_extract_string(raw, '$.express_info.receiver_name')`
	if e.st.Dialect() == "postgres" {
		member = `CAST(raw AS jsonb)->'express_info'->>'receiver_name'`
	}
	if err := e.st.DB().QueryRow(`SELECT ` + member + ` FROM orders WHERE external_order_id = 'full-1'`).Scan(&receiver); err != nil || receiver != "Li Lei" {
		t.Errorf("raw.express_info.receiver_name = %q, %v", receiver, err)
	}
	if n := e.count(t, `SELECT count(*) FROM order_goods WHERE external_order_id = 'full-1'`); n != 3 {
		t.Errorf("goods lines: %d", n)
	}
	if n := e.count(t, `SELECT sum(payment_fen) FROM order_goods WHERE external_order_id = 'full-1'`); n != 7580+2500 {
		t.Errorf("goods payment: %d", n)
	}
}

// requiredFields are the add_order fields the issue lists, as paths into
// ordertest.Order (status 1150).
var requiredFields = []string{
	"external_order_id", "create_time", "order_source", "order_type", "goods_num_total", "goods_amount_total",
	"freight_amount", "order_amount", "payable_amount", "payment_amount", "order_status", "status_change_time",
	"user_info", "user_info.open_id", "goods_info", "goods_info[0].external_sku_id",
	"goods_info[0].sku_name_chinese", "goods_info[0].goods_amount", "goods_info[0].payment_amount",
	"goods_info[0].external_spu_id", "goods_info[0].spu_name_chinese", "goods_info[0].goods_num", "payment_info",
}

// remove deletes the member at path ("a.b[0].c") from o.
func remove(o map[string]any, path string) {
	parts := strings.Split(path, ".")
	cur := o
	for _, p := range parts[:len(parts)-1] {
		name, idx, isIdx := strings.Cut(p, "[")
		next := cur[name]
		if isIdx {
			var i int
			fmt.Sscanf(idx, "%d]", &i)
			next = next.([]any)[i]
		}
		cur = next.(map[string]any)
	}
	delete(cur, parts[len(parts)-1])
}

func TestDataAPIRequiredFields(t *testing.T) {
	e := newDataAPIEnv(t)
	for _, field := range requiredFields {
		t.Run(field, func(t *testing.T) {
			broken := ordertest.Order("req-2", created, 1150, paidAt, "open-2")
			remove(broken, field)
			res := e.post(t, "/order/add_order", e.orders(ordertest.Order("req-1", created, 1150, paidAt, "open-1"), broken))
			wantRetcode(t, res, order.CodeInvalid, 400, "orders[1]."+field+": required")
			var data struct{ Errors []order.Problem }
			if err := json.Unmarshal(res.Data, &data); err != nil || len(data.Errors) == 0 || data.Errors[0].Field != "orders[1]."+field {
				t.Errorf("data.errors: %s", res.Data)
			}
		})
	}
	// All or none: the valid first order was not stored either.
	if n := e.count(t, `SELECT count(*) FROM orders`); n != 0 {
		t.Fatalf("%d orders stored from refused calls", n)
	}
	// payment_info may be left out while awaiting payment, open_id when the
	// order is not from the mini-program.
	unpaid := ordertest.Order("req-3", created, 1110, created, "open-3")
	offline := ordertest.Order("req-4", created, 1150, paidAt, "")
	offline["order_source"] = "offstore_pos_manual"
	remove(offline, "user_info.open_id")
	if res := e.post(t, "/order/add_order", e.orders(unpaid, offline)); res.Retcode != 0 {
		t.Fatalf("optional fields: %+v", res)
	}
}

func TestDataAPIRefusals(t *testing.T) {
	e := newDataAPIEnv(t)
	with := func(path string, v any) map[string]any {
		o := ordertest.Order("bad-1", created, 1150, paidAt, "open-1")
		if v == nil {
			remove(o, path)
			return e.orders(o)
		}
		parts := strings.Split(path, ".")
		cur := o
		for _, p := range parts[:len(parts)-1] {
			if name, _, ok := strings.Cut(p, "["); ok {
				cur = cur[name].([]any)[0].(map[string]any)
			} else {
				cur = cur[p].(map[string]any)
			}
		}
		cur[parts[len(parts)-1]] = v
		return e.orders(o)
	}
	many := make([]map[string]any, 51)
	for i := range many {
		many[i] = ordertest.Order(fmt.Sprint("many-", i), created, 1110, created, "open-1")
	}
	cases := []struct {
		name   string
		body   any
		code   int
		status int
		msg    string
	}{
		{"goods_num as string", with("goods_info[0].goods_num", "2"), 4202, 400, "orders[0].goods_info[0].goods_num: must be a number"},
		{"goods_num fraction", with("goods_info[0].goods_num", 1.5), 4202, 400, "goods_num: must be an integer"},
		{"amount as string", with("order_amount", "108.80"), 4202, 400, "orders[0].order_amount: must be a number"},
		{"negative amount", with("payment_amount", -1), 4202, 400, "orders[0].payment_amount: must be an amount"},
		{"user_info as string", with("user_info", "open-1"), 4202, 400, "orders[0].user_info: must be an object"},
		{"goods_info as object", with("goods_info", map[string]any{}), 4202, 400, "orders[0].goods_info: must be an array"},
		{"empty goods_info", with("goods_info", []any{}), 4202, 400, "orders[0].goods_info: must not be empty"},
		{"goods line not an object", with("goods_info", []any{"sku"}), 4202, 400, "orders[0].goods_info[0]: must be an object"},
		{"create_time as bool", with("create_time", true), 4202, 400, "orders[0].create_time: must be Unix milliseconds"},
		{"create_time in seconds", with("create_time", "1740823200"), 4202, 400, "orders[0].create_time: must be Unix milliseconds (13 digits)"},
		{"unknown status", with("order_status", "1234"), 4202, 400, "orders[0].order_status: must be one of"},
		{"unknown source", with("order_source", "shop"), 4202, 400, "orders[0].order_source: must be one of"},
		{"order id as object", with("external_order_id", map[string]any{}), 4202, 400, "orders[0].external_order_id: must be a string"},
		{"empty order id", with("external_order_id", ""), 4202, 400, "orders[0].external_order_id: must not be empty"},
		{"open_id as number", with("user_info.open_id", 7), 4202, 400, "orders[0].user_info.open_id: must be a string"},
		{"store_info as array", with("goods_info[0].store_info", []any{}), 4202, 400, "orders[0].goods_info[0].store_info: must be an object"},
		{"orders as object", map[string]any{"dataSourceId": e.source, "orders": map[string]any{}}, 4202, 400, "orders: must be an array"},
		{"order not an object", map[string]any{"dataSourceId": e.source, "orders": []any{1}}, 4202, 400, "orders[0]: must be an object"},
		{"no orders", map[string]any{"dataSourceId": e.source}, 4202, 400, "orders: required"},
		{"empty orders", map[string]any{"dataSourceId": e.source, "orders": []any{}}, 4202, 400, "orders: must not be empty"},
		{"51 orders", e.orders(many...), 4203, 413, "orders: at most 50 items per call, got 51"},
		{"no dataSourceId", map[string]any{"orders": []any{ordertest.Order("x", created, 1110, created, "o")}}, 4202, 400, "dataSourceId: required"},
		{"unknown dataSourceId", map[string]any{"dataSourceId": "999", "orders": []any{ordertest.Order("x", created, 1110, created, "o")}}, 4204, 400, `dataSourceId: "999" is not a data source`},
		{"not JSON", []byte(`{"orders": [`), 4201, 400, "not valid JSON"},
		{"JSON array", []byte(`[]`), 4201, 400, "must be a JSON object"},
		{"empty body", []byte(` `), 4201, 400, "body is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantRetcode(t, e.post(t, "/order/add_order", c.body), c.code, c.status, c.msg) })
	}
	// 50 is fine.
	if res := e.post(t, "/order/add_order", e.orders(many[:50]...)); res.Retcode != 0 {
		t.Fatalf("50 orders: %+v", res)
	}
	// Several problems are all named, in order.
	o := ordertest.Order("multi", created, 1150, paidAt, "open-1")
	remove(o, "create_time")
	o["goods_info"].([]any)[2].(map[string]any)["goods_num"] = "1"
	res := e.post(t, "/order/add_order", e.orders(ordertest.Order("ok", created, 1110, created, "o"), o))
	wantRetcode(t, res, 4202, 400, "orders[1].create_time: required; orders[1].goods_info[2].goods_num: must be a number")
}

func TestDataAPIStatusHistory(t *testing.T) {
	e := newDataAPIEnv(t)
	shipped := paidAt.Add(time.Hour)
	// Shipped is reported first, then the older "paid": the order stays
	// shipped, paid at the older time, with both in the history.
	if res := e.post(t, "/order/add_order", e.orders(ordertest.Order("h-1", created, 1160, shipped, "open-1"))); res.Retcode != 0 {
		t.Fatal(res)
	}
	res := e.post(t, "/order/add_order", e.orders(ordertest.Order("h-1", created, 1150, paidAt, "open-1")))
	var data order.OrdersAdded
	json.Unmarshal(res.Data, &data)
	if res.Retcode != 0 || data != (order.OrdersAdded{Received: 1, Stale: 1}) {
		t.Fatalf("older update: %+v %+v", res, data)
	}
	var status int
	var paid time.Time
	if err := e.st.DB().QueryRow(`SELECT status, paid_time FROM orders WHERE external_order_id = 'h-1'`).Scan(&status, &paid); err != nil {
		t.Fatal(err)
	}
	if status != 1160 || !paid.Equal(paidAt) {
		t.Errorf("order: status %d paid %v; want 1160 paid %v", status, paid, paidAt)
	}
	var hist []string
	rows, err := e.st.DB().Query(`SELECT status FROM order_status_history WHERE external_order_id = 'h-1' ORDER BY status_change_time`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		hist = append(hist, s)
	}
	rows.Close()
	if strings.Join(hist, ",") != "1150,1160" {
		t.Errorf("history %v, want 1150,1160", hist)
	}

	// The same call twice: the second changes nothing.
	call := e.orders(ordertest.Order("i-1", created, 1110, created, "open-2"), ordertest.Order("i-1", created, 1150, paidAt, "open-2"),
		ordertest.Order("i-2", created, 1180, paidAt.Add(48*time.Hour), "open-3"))
	first := e.post(t, "/order/add_order", call)
	second := e.post(t, "/order/add_order", call)
	var d1, d2 order.OrdersAdded
	json.Unmarshal(first.Data, &d1)
	json.Unmarshal(second.Data, &d2)
	if d1 != (order.OrdersAdded{Received: 3, Created: 2, Paid: 2}) || d2 != (order.OrdersAdded{Received: 3, Updated: 2}) {
		t.Fatalf("first %+v, second %+v", d1, d2)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM orders WHERE external_order_id IN ('i-1', 'i-2')`:                                   2,
		`SELECT count(*) FROM order_goods WHERE external_order_id IN ('i-1', 'i-2')`:                              6,
		`SELECT count(*) FROM order_status_history WHERE external_order_id IN ('i-1', 'i-2')`:                     3,
		`SELECT count(*) FROM orders WHERE external_order_id = 'i-1' AND status = 1150 AND paid_time IS NOT NULL`: 1,
	} {
		if n := e.count(t, q); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
}

func TestDataAPIDayBoundary(t *testing.T) {
	e := newDataAPIEnv(t)
	// 15:59:59 UTC is 23:59:59 on 1 March in Shanghai; 16:00:00 UTC is
	// already 2 March there.
	late := time.Date(2025, 3, 1, 15, 59, 59, 0, time.UTC)
	early := time.Date(2025, 3, 1, 16, 0, 0, 0, time.UTC)
	if res := e.post(t, "/order/add_order", e.orders(
		ordertest.Order("d-1", late, 1150, late, "open-1"),
		ordertest.Order("d-2", early, 1150, early, "open-2"),
		ordertest.Order("d-3", early, 1150, early.Add(time.Hour), "open-2"),
	)); res.Retcode != 0 {
		t.Fatal(res)
	}
	req, _ := http.NewRequest(http.MethodGet, e.url+"/api/v1/apps/shop/analysis/orders?from=2025-03-01&to=2025-03-02", nil)
	req.Header.Set("Authorization", "Bearer "+dataAPIAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Columns []struct{ Name string }
		Rows    [][]any
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("analysis: HTTP %d %v", resp.StatusCode, err)
	}
	// day, created, paid, GMV: one order on the 1st, two on the 2nd.
	want := [][]any{{"2025-03-01", 1.0, 1.0, 9880.0}, {"2025-03-02", 2.0, 2.0, 2 * 9880.0}}
	if len(got.Rows) != 2 {
		t.Fatalf("rows: %v", got.Rows)
	}
	for i, w := range want {
		for j, v := range w {
			if got.Rows[i][j] != v {
				t.Errorf("row %d column %s: %v, want %v", i, got.Columns[j].Name, got.Rows[i][j], v)
			}
		}
	}
}

func TestDataAPISumsPagesAndSources(t *testing.T) {
	e := newDataAPIEnv(t)
	// 1 March 00:00 in Shanghai, as the clients send ref_date.
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	sums := map[string]any{"dataSourceId": e.source, "orders": []any{map[string]any{
		"ref_date": ordertest.Ms(day), "give_order_amount_sum": 95.10, "give_order_num_sum": 1,
		"payment_amount_sum": 95.10, "payed_num_sum": 1,
	}}}
	if res := e.post(t, "/order/add_order_sum", sums); res.Retcode != 0 {
		t.Fatalf("add_order_sum: %+v", res)
	}
	if n := e.count(t, `SELECT give_order_fen FROM order_sums WHERE app_id = 'shop' AND ref_date = DATE '2025-03-01'`); n != 9510 {
		t.Errorf("give_order_fen %d", n)
	}
	delete(sums["orders"].([]any)[0].(map[string]any), "payed_num_sum")
	wantRetcode(t, e.post(t, "/order/add_order_sum", sums), 4202, 400, "orders[0].payed_num_sum: required")

	pages := map[string]any{"dataSourceId": e.source, "rawMsg": []any{map[string]any{
		"ref_date": "20250301", "list": []any{map[string]any{
			"page_path": "pages/index/index", "page_visit_pv": 120, "page_visit_uv": 80, "page_staytime_pv": 6.25,
			"entrypage_pv": 70, "exitpage_pv": 50, "page_share_pv": 3, "page_share_uv": 2,
		}},
	}}}
	if res := e.post(t, "/analysis/add_wxapp_visit_page", pages); res.Retcode != 0 || string(res.Data) != `{"received":1,"pages":1}` {
		t.Fatalf("add_wxapp_visit_page: %+v %s", res, res.Data)
	}
	pages["rawMsg"].([]any)[0].(map[string]any)["list"].([]any)[0].(map[string]any)["page_visit_uv"] = "80"
	wantRetcode(t, e.post(t, "/analysis/add_wxapp_visit_page", pages), 4202, 400, "rawMsg[0].list[0].page_visit_uv: must be a number")

	// One data source per type: adding type 0 again returns the first.
	res := e.post(t, "/data_source/add", map[string]any{"merchantId": "m-1", "dataSourceType": 0})
	if res.Retcode != 0 || !strings.Contains(string(res.Data), `"id":"`+e.source+`"`) || !strings.Contains(string(res.Data), `"created":false`) {
		t.Fatalf("add again: %+v %s", res, res.Data)
	}
	// Keeping an id Youshu issued (extension), then naming it.
	if res := e.post(t, "/data_source/add", map[string]any{"merchantId": "m-1", "dataSourceType": 51, "dataSourceId": "ys-51"}); res.Retcode != 0 {
		t.Fatalf("add with id: %+v", res)
	}
	wantRetcode(t, e.post(t, "/data_source/add", map[string]any{"dataSourceType": 7, "dataSourceId": "ys-51"}), 4205, 409, "already the app's data source of type 51")
	wantRetcode(t, e.post(t, "/data_source/add", map[string]any{"dataSourceType": 0, "dataSourceId": "ys-0"}), 4205, 409, "one per type")
	sums["orders"].([]any)[0].(map[string]any)["payed_num_sum"] = 1
	sums["dataSourceId"] = "ys-51"
	if res := e.post(t, "/order/add_order_sum", sums); res.Retcode != 0 {
		t.Fatalf("sum with kept id: %+v", res)
	}
	got, err := e.client.Get(context.Background(), "/data_source/get", url.Values{"merchantId": {"m-1"}})
	if err != nil {
		t.Fatal(err)
	}
	var found order.SourcesFound
	json.Unmarshal(got.Data, &found)
	if got.Retcode != 0 || len(found.DataSources) != 2 || found.DataSource == nil || found.DataSource.ID != e.source || found.DataSources[1].ID != "ys-51" {
		t.Fatalf("get: %+v %s", got, got.Data)
	}
	got = e.post(t, "/data_source/get", map[string]any{"dataSourceType": 51})
	json.Unmarshal(got.Data, &found)
	if got.Retcode != 0 || len(found.DataSources) != 1 || found.DataSource.ID != "ys-51" {
		t.Fatalf("post get: %+v %s", got, got.Data)
	}

	// Wrong method and unknown paths answer in the envelope too.
	r2, err := e.client.Get(context.Background(), "/order/add_order", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantRetcode(t, r2, 4405, 405, "method must be POST")
	wantRetcode(t, e.post(t, "/order/add_sub_order", map[string]any{}), 4404, 404, "not served")
}

// BenchmarkAddOrder posts realistic orders (three goods lines each) in
// calls of 50 through the real handler over loopback into a real DuckDB
// store, each call freshly signed: from one client (a backend posting its
// calls one after the other) and from 16 concurrent clients.
func BenchmarkAddOrder(b *testing.B) {
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchAddOrder(b, clients) })
	}
}

func benchAddOrder(b *testing.B, clients int) {
	e := newDataAPIEnv(b)
	e.now.Store(time.Now().Unix())
	e.client.Now = nil
	e.client.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	const perCall = 50
	// Bodies are encoded before the clock starts: the benchmark measures
	// the server.
	bodies := make([][]byte, b.N)
	for i := range bodies {
		list := make([]map[string]any, perCall)
		for j := range list {
			id := fmt.Sprintf("bench-%d-%d", i, j)
			at := created.Add(time.Duration(i*perCall+j) * time.Second)
			list[j] = ordertest.Order(id, at, 1150, at.Add(time.Minute), fmt.Sprintf("open-%d", (i*perCall+j)%5000))
		}
		bodies[i], _ = json.Marshal(e.orders(list...))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	cpu0 := cpuTime()
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				res, err := e.client.Post(context.Background(), "/order/add_order", bodies[i])
				if err == nil && res.Retcode != 0 {
					err = fmt.Errorf("retcode %d: %s", res.Retcode, res.Errmsg)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*perCall)/b.Elapsed().Seconds(), "orders/s")
	// CPU spent by the whole process (server, store and clients) per order:
	// on a shared machine it tells more than the wall clock.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*perCall), "cpu-µs/order")
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
