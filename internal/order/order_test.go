package order

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func TestSign(t *testing.T) {
	// Computed with Python's hmac module over the same message.
	const want = "e84bc14aab62cf67ac5f3184f31eec2657803241ce9e74f655d8e0267b40b3ed"
	msg := SignedMessage("ys-app-001", "abcdefghijklmnopqrstuvwxyz012345", 1740801600)
	if msg != "app_id=ys-app-001&nonce=abcdefghijklmnopqrstuvwxyz012345&sign=sha256&timestamp=1740801600" {
		t.Fatalf("message %q", msg)
	}
	if got := Sign("data-api-secret", "ys-app-001", "abcdefghijklmnopqrstuvwxyz012345", 1740801600); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestMemoryNonces(t *testing.T) {
	n := NewMemoryNonces()
	ctx := context.Background()
	t0 := time.Unix(1740801600, 0)
	use := func(app, nonce string, now time.Time) bool {
		fresh, err := n.UseNonce(ctx, app, nonce, now, now.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	if !use("a", "x", t0) {
		t.Fatal("first use not fresh")
	}
	if use("a", "x", t0.Add(time.Minute)) {
		t.Fatal("replay inside the window accepted")
	}
	if !use("b", "x", t0.Add(time.Minute)) {
		t.Fatal("the same nonce of another app refused")
	}
	// After the window the entry is swept: memory stays bounded.
	if !use("a", "y", t0.Add(10*time.Minute)) || n.Len() != 1 {
		t.Fatalf("after the window: %d nonces remembered, want 1", n.Len())
	}
}

func TestParseOrderValues(t *testing.T) {
	body := `{"dataSourceId": 42, "orders": [{
		"external_order_id": 20250301001, "create_time": 1740823200000, "order_source": "wxapp", "order_type": 1,
		"goods_num_total": 2, "goods_amount_total": 95.1, "freight_amount": 0, "order_amount": 95.10,
		"payable_amount": 19.99, "payment_amount": 0.29, "order_status": 1160, "status_change_time": "1740823260000",
		"user_info": {"open_id": "o1", "user_id": 7},
		"goods_info": [
			{"external_sku_id": "s1", "sku_name_chinese": "tea", "goods_amount": 1.005, "payment_amount": 2.675,
			 "external_spu_id": "p1", "spu_name_chinese": "tea", "goods_num": 2.0, "is_gift": 0,
			 "chan_info": [{"chan_weapp": {"chan_scene": "1047"}, "chan_custom": {"chan_custom_id": 12375}, "guide_id": "g7"}]},
			{"external_sku_id": "s2", "sku_name_chinese": "cup", "goods_amount": 3, "payment_amount": 3,
			 "external_spu_id": "p2", "spu_name_chinese": "cup", "goods_num": 1,
			 "store_info": {"external_store_id": "st9", "store_name": "West Lake"},
			 "chan_info": [{"chan_id": "3_0001", "chan_refer_app_id": "wxabc", "chan_wxapp": {"chan_scene": 1001}}]}
		],
		"payment_info": [{"payment_type": "00009", "trans_id": "w1", "trans_amount": 0.29}],
		"coupon_info": [{"coupon_amount_total": 50.5}, {"coupon_amount_total": 25}]
	}]}`
	src, orders, err := parseOrders([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if src != "42" || len(orders) != 1 {
		t.Fatalf("src %q, %d orders", src, len(orders))
	}
	o := orders[0]
	at := time.UnixMilli(1740823260000).UTC()
	want := store.Order{
		ExternalID: "20250301001", CreateTime: time.UnixMilli(1740823200000).UTC(), Source: "wxapp", Type: 1,
		GoodsNumTotal: 2, GoodsFen: 9510, OrderFen: 9510, PayableFen: 1999, PaymentFen: 29,
		Status: 1160, StatusTime: at, PaidTime: at, OpenID: "o1", UserID: "7",
		StoreID: "st9", StoreName: "West Lake", ChanID: "3_0001", ChanReferAppID: "wxabc", ChanCustomID: "12375",
		ChanScene: 1047, GuideID: "g7", PaymentType: "00009", CouponFen: 7550,
	}
	got := o
	got.Goods, got.Raw = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order\n got %+v\nwant %+v", got, want)
	}
	// 1.005 and 2.675 yuan are 1.00499… and 2.67499… as floats; read as
	// the decimals sent they round half up to 101 and 268 fen.
	g0 := store.Goods{SKUID: "s1", SKUName: "tea", SPUID: "p1", SPUName: "tea", GoodsFen: 101, PaymentFen: 268, Num: 2, ChanCustomID: "12375"}
	g1 := store.Goods{SKUID: "s2", SKUName: "cup", SPUID: "p2", SPUName: "cup", GoodsFen: 300, PaymentFen: 300, Num: 1,
		StoreID: "st9", StoreName: "West Lake", ChanID: "3_0001"}
	if len(o.Goods) != 2 || o.Goods[0] != g0 || o.Goods[1] != g1 {
		t.Errorf("goods %+v", o.Goods)
	}
	var back map[string]any
	if err := json.Unmarshal(o.Raw, &back); err != nil || back["coupon_info"] == nil {
		t.Errorf("raw order not kept whole: %s", o.Raw)
	}
}

func TestPaidStatuses(t *testing.T) {
	for status, paid := range map[int64]bool{
		1110: false, 1130: false, 1140: true, 1150: true, 1160: true, 1170: true, 1180: true,
		1280: true, 1290: true, 9999: false,
	} {
		if Paid(status) != paid {
			t.Errorf("Paid(%d) = %v", status, !paid)
		}
	}
}

func TestParseDays(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	body := `{"dataSourceId":"1","orders":[
		{"ref_date":"1740758400000","give_order_amount_sum":1,"give_order_num_sum":1,"payment_amount_sum":1,"payed_num_sum":1},
		{"ref_date":1740758399999,"give_order_amount_sum":1,"give_order_num_sum":1,"payment_amount_sum":1,"payed_num_sum":1},
		{"ref_date":"20250305","give_order_amount_sum":1,"give_order_num_sum":1,"payment_amount_sum":1,"payed_num_sum":1},
		{"ref_date":"2025-03-06","give_order_amount_sum":1,"give_order_num_sum":1,"payment_amount_sum":1,"payed_num_sum":1}]}`
	_, sums, err := parseSums([]byte(body), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	// 1740758400000 is 2025-03-01 00:00 in Shanghai; a millisecond before
	// is still 28 February there.
	want := []string{"2025-03-01", "2025-02-28", "2025-03-05", "2025-03-06"}
	for i, s := range sums {
		if got := s.Day.Format(time.DateOnly); got != want[i] || s.Day.Location() != time.UTC {
			t.Errorf("sum %d: day %s (%v), want %s", i, got, s.Day.Location(), want[i])
		}
	}
	_, _, err = parseSums([]byte(strings.Replace(body, `"20250305"`, `"2025/03/05"`, 1)), shanghai)
	if err == nil || !strings.Contains(err.Error(), "orders[2].ref_date: must be a day") {
		t.Errorf("bad day: %v", err)
	}
}

func TestProblemsAreCapped(t *testing.T) {
	var items []string
	for range 20 {
		items = append(items, `{}`)
	}
	_, _, err := parseOrders([]byte(`{"dataSourceId":"1","orders":[` + strings.Join(items, ",") + `]}`))
	if err == nil || len(err.Problems) != MaxProblems || !strings.HasSuffix(err.Msg, "; and more") ||
		!strings.HasPrefix(err.Msg, "orders[0].external_order_id: required; orders[0].create_time: required") {
		t.Fatalf("err %v", err)
	}
}

func TestToFen(t *testing.T) {
	for text, want := range map[string]int64{
		"0": 0, "95.1": 9510, "95.10": 9510, "0.29": 29, "19.99": 1999, "1.005": 101, "2.675": 268,
		"1.004999": 100, "1e2": 10000, "1.5E1": 1500, "0.125": 13, "123456789.12": 12345678912,
	} {
		if got, ok := toFen(text); !ok || got != want {
			t.Errorf("toFen(%s) = %d, %v; want %d", text, got, ok, want)
		}
	}
}

func TestParseKeepsEachOrderAsSent(t *testing.T) {
	one := `{"external_order_id":"a","create_time":"1740823200000","order_source":"app","order_type":1,` +
		`"goods_num_total":1,"goods_amount_total":1,"freight_amount":0,"order_amount":1,"payable_amount":1,` +
		`"payment_amount":1,"order_status":"1110","status_change_time":"1740823200000","user_info":{},` +
		`"goods_info":[{"external_sku_id":"s","sku_name_chinese":"s","goods_amount":1,"payment_amount":1,` +
		`"external_spu_id":"s","spu_name_chinese":"s","goods_num":1}],"x_extra":{"kept":[1,2]}}`
	two := strings.Replace(one, `"a"`, `"b"`, 1)
	body := "{\n \"orders\" : [ " + one + " ,\n\t" + two + "\n], \"dataSourceId\":\"1\", \"other\": [{}]}"
	_, orders, err := parseOrders([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 2 || string(orders[0].Raw) != one || string(orders[1].Raw) != two {
		t.Fatalf("raw orders:\n%s\n%s", orders[0].Raw, orders[1].Raw)
	}
	// The same body with trailing garbage is refused as a whole.
	if _, _, err := parseOrders([]byte(body + "x")); err == nil || err.Code != CodeBadBody {
		t.Fatalf("trailing garbage: %v", err)
	}
}
