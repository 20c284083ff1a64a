package event_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
)

// TestParseBounds: numbers that do not fit the column they go to, times no
// client could have sent, and types no app would name are refused with the
// field and the rule, never stored wrapped or as sent.
func TestParseBounds(t *testing.T) {
	received := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ms := received.UnixMilli()
	ev := func(typ, own string) string {
		t, err := json.Marshal(typ)
		if err != nil {
			panic(err)
		}
		return fmt.Sprintf(`{"type":%s,"log_id":1,"props":{"page":"pages/a","time":%d,"wx_user":{"open_id":"o1"}%s}}`, t, ms, own)
	}
	order := func(amounts string) string {
		return ev("custom_order", `,"order":{"order_id":"O1","order_time":1,"order_status":"payed"},"sub_orders":[`+amounts+`]`)
	}
	cases := []struct {
		name, raw, field, rule string
	}{
		{"log_id 1e300", strings.Replace(ev("app_show", ""), `"log_id":1`, `"log_id":1e300`, 1), "log_id", "must be an integer from -9007199254740991 to 9007199254740991"},
		{"log_id -1e300", strings.Replace(ev("app_show", ""), `"log_id":1`, `"log_id":-1e300`, 1), "log_id", "must be an integer from"},
		{"log_id 2^53", strings.Replace(ev("app_show", ""), `"log_id":1`, `"log_id":9007199254740992`, 1), "log_id", "must be an integer from"},
		{"log_id 1.5", strings.Replace(ev("app_show", ""), `"log_id":1`, `"log_id":1.5`, 1), "log_id", "must be an integer from"},
		{"stay_time 1e19", ev("leave_wxapp_page", `,"stay_time":1e19`), "props.stay_time", "must be a number from -9007199254740991 to 9007199254740991"},
		{"scene 1e10", ev("app_show", `,"chan":{"chan_wxapp_scene":1e10}`), "props.chan.chan_wxapp_scene", "must be a number from -2147483648 to 2147483647"},
		{"sku_num 1e300", ev("add_to_cart", `,"sku":{"sku_id":"S"},"spu":{"spu_id":"P"},"sku_num":1e300`), "props.sku_num", "must be a number from"},
		{"price 1e300", ev("browse_sku_page", `,"sku":{"sku_id":"S"},"sale":{"current_price":1e300}`), "props.sale.current_price", "must be an amount from -1000000000000 to 1000000000000 yuan"},
		{"original price -1e13", ev("browse_sku_page", `,"sku":{"sku_id":"S"},"sale":{"original_price":-1e13}`), "props.sale.original_price", "must be an amount from"},
		{"pay_amt 1e300", order(`{"order_amt":1,"pay_amt":1e300}`), "props.sub_orders[0].pay_amt", "must be an amount from"},
		{"order_amt 1e13", order(`{"order_amt":1,"pay_amt":1},{"order_amt":1e13}`), "props.sub_orders[1].order_amt", "must be an amount from"},
		{"time in 2001", strings.Replace(ev("app_show", ""), fmt.Sprint(ms), "1000000000000", 1), "props.time", "must not be before 2017-01-09 (when mini-programs began)"},
		{"time a day and a millisecond ahead", strings.Replace(ev("app_show", ""), fmt.Sprint(ms), fmt.Sprint(ms+86_400_001), 1), "props.time", "more than a day after the upload was received"},
		{"time in 2286", strings.Replace(ev("app_show", ""), fmt.Sprint(ms), "9999999999999", 1), "props.time", "more than a day after the upload was received"},
		{"type of 65 characters", ev(strings.Repeat("x", 65), ""), "type", "at most 64 characters"},
		{"type of 64 KiB", ev(strings.Repeat("x", 60<<10), ""), "type", "at most 64 characters"},
		{"type with a control character", ev("bad\x01type", ""), "type", "letters, digits, spaces and _ - . : / only"},
		{"type with markup", ev("<script>", ""), "type", "letters, digits, spaces and _ - . : / only"},
		{"type with a quote", ev(`say"hi`, ""), "type", "letters, digits, spaces and _ - . : / only"},
		{"type with a line break", ev("a\nb", ""), "type", "letters, digits, spaces and _ - . : / only"},
		{"type with spaces around", ev(" login ", ""), "type", "must not begin or end with a space"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := event.Parser{Received: received}
			_, err := p.Parse(json.RawMessage(c.raw))
			inv, ok := err.(*event.Invalid)
			if !ok {
				t.Fatalf("got %v, want an *Invalid for %s", err, c.field)
			}
			if inv.Field != c.field || !strings.Contains(inv.Rule, c.rule) {
				t.Fatalf("got %q: %q; want %q: ...%q...", inv.Field, inv.Rule, c.field, c.rule)
			}
		})
	}
	// At the bounds, and the types apps do send.
	for _, raw := range []string{
		strings.Replace(ev("app_show", ""), `"log_id":1`, `"log_id":9007199254740991`, 1),
		strings.Replace(ev("app_show", ""), fmt.Sprint(ms), fmt.Sprint(ms+86_400_000), 1),
		strings.Replace(ev("app_show", ""), fmt.Sprint(ms), fmt.Sprint(time.Date(2017, 1, 9, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).UnixMilli()), 1),
		ev("browse_sku_page", `,"sku":{"sku_id":"S"},"sale":{"current_price":1e12,"original_price":-1e12}`),
		ev("login_wxapp", ""), ev("sdk api exec error", ""), ev("领取优惠券", ""), ev("v2.coupon:get/ok-1", ""), ev(strings.Repeat("y", 64), ""),
	} {
		p := event.Parser{Received: received}
		if _, err := p.Parse(json.RawMessage(raw)); err != nil {
			t.Errorf("%.120s: %v", raw, err)
		}
	}
	// Without a receive time (tests, back-fills) only the fixed bounds hold.
	if _, err := event.Parse(json.RawMessage(strings.Replace(ev("app_show", ""), fmt.Sprint(ms), "4102444800000", 1))); err != nil {
		t.Errorf("a time in 2100 parsed without a receive time: %v", err)
	}
}
