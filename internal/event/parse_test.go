package event_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/event"
)

func TestParseCaptures(t *testing.T) {
	for file, reqs := range loadCaptures(t) {
		types := map[string]int{}
		for ri, c := range reqs {
			var raws []json.RawMessage
			if err := json.Unmarshal([]byte(c.Body), &raws); err != nil {
				t.Fatalf("%s request %d: %v", file, ri, err)
			}
			for i, raw := range raws {
				ev, err := event.Parse(raw)
				if err != nil {
					t.Errorf("%s request %d event %d (%s): %v", file, ri, i, event.TypeOf(raw), err)
					continue
				}
				types[ev.Type]++
				if ev.UserKey != "oHarness_OpenId_0001" {
					t.Errorf("%s %s: user key %q, want the open_id", file, ev.Type, ev.UserKey)
				}
				if ev.Time.IsZero() || ev.TrackingID == "" || ev.Key == 0 || ev.ContextID == 0 {
					t.Errorf("%s %s: time %v tracking %q key %d context %d", file, ev.Type, ev.Time, ev.TrackingID, ev.Key, ev.ContextID)
				}
			}
		}
		for _, b := range event.Behaviours {
			if types[b] == 0 {
				t.Errorf("%s: behaviour %s missing from the capture", file, b)
			}
		}
	}
}

func TestParseFields(t *testing.T) {
	reqs := loadCaptures(t)["captured-2.1.1.jsonl"]
	byType := map[string][]event.Event{}
	for _, c := range reqs {
		var raws []json.RawMessage
		json.Unmarshal([]byte(c.Body), &raws)
		for _, raw := range raws {
			ev, err := event.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			byType[ev.Type] = append(byType[ev.Type], ev)
		}
	}
	launch := byType["app_launch"][0]
	if launch.Kind != event.KindBehaviour || launch.Page != "pages/index/index" || launch.Scene != 1037 ||
		launch.GdtVid != "wx0ewinbalytptma00" || launch.AdInfo != "20966864.wx0ewinbalytptma00.0.1" ||
		launch.ChanID != "ad_gdt_moments_01" || launch.GuideID != "GUIDE_0007" || launch.ShopID != "SHOP_SZ_001" ||
		launch.UnionID != "uHarness_UnionId_0001" || launch.CustomID != "mp-article-12375" || launch.StoreID != "SHOP_SZ_001" {
		t.Errorf("app_launch fields: %+v", launch)
	}
	if !strings.Contains(launch.PageQry, "gdt_vid=") {
		t.Errorf("page query %q", launch.PageQry)
	}
	cart := byType["add_to_cart"][0]
	if cart.SKUID != "AKDFie8-1" || cart.SPUID != "AKDFie8" || cart.SKUNum != 2 || cart.PriceFen != 3000 || cart.ActionType != "append_to_cart" {
		t.Errorf("add_to_cart fields: %+v", cart)
	}
	var payed *event.Event
	for i, o := range byType["custom_order"] {
		if o.OrderStatus == "payed" {
			payed = &byType["custom_order"][i]
		}
	}
	if payed == nil || payed.OrderID != "SO20240601000123" || payed.PayFen != 6000 || payed.OrderFen != 6600 {
		t.Errorf("payed order: %+v", payed)
	}
	if byType["search"][0].Keyword != "lychee" {
		t.Errorf("search keyword %q", byType["search"][0].Keyword)
	}
	if k := byType["element"][0].Kind; k != event.KindSDK {
		t.Errorf("element kind %s", k)
	}
	if leave := byType["leave_wxapp_page"][0]; leave.StayMS != 892 {
		t.Errorf("stay %d", leave.StayMS)
	}
	// The context lives apart from the event's own props.
	if strings.Contains(string(launch.Props), "wx_user") || !strings.Contains(string(launch.Context), "oHarness_OpenId_0001") {
		t.Errorf("props/context split: props %s", launch.Props)
	}
}

// A re-send carries a new log_id and the then-current context; it must get
// the same key. Another time or other props must not.
func TestDedupKey(t *testing.T) {
	base := `{"type":"search","tracking_id":"T1","log_id":%d,"props":{"page":"p","time":%d,"keyword":"%s","wx_user":{"open_id":"%s"}}}`
	parse := func(logID, tm int, kw, open string) int64 {
		ev, err := event.Parse(json.RawMessage(sprintf(base, logID, tm, kw, open)))
		if err != nil {
			t.Fatal(err)
		}
		return ev.Key
	}
	a := parse(1, 1795373591817, "x", "o1")
	if b := parse(7, 1795373591817, "x", "o2"); a != b {
		t.Error("re-send with a new log_id and context got a new key")
	}
	if b := parse(1, 1795373591818, "x", "o1"); a == b {
		t.Error("other time, same key")
	}
	if b := parse(1, 1795373591817, "y", "o1"); a == b {
		t.Error("other keyword, same key")
	}
}

func TestParseInvalid(t *testing.T) {
	ok := map[string]string{
		"search":      `{"keyword":"k"}`,
		"add_to_cart": `{"sku":{"sku_id":"S1"},"spu":{"spu_id":"P1"},"sku_num":1}`,
		"custom_order": `{"order":{"order_id":"O1","order_time":1795373591817,"order_status":"payed"},` +
			`"sub_orders":[{"sub_order_id":"O1","order_amt":1,"pay_amt":1}]}`,
		"browse_sku_page": `{"sku":{"sku_id":"S1"}}`,
	}
	wrap := func(typ, own string) string {
		common := `"page":"pages/a","time":1795373591817,"wx_user":{"open_id":"o1","app_id":"wx1"}`
		if own == "{}" {
			return `{"type":"` + typ + `","props":{` + common + `}}`
		}
		return `{"type":"` + typ + `","props":{` + common + `,` + own[1:] + `}`
	}
	for typ, own := range ok {
		if _, err := event.Parse(json.RawMessage(wrap(typ, own))); err != nil {
			t.Fatalf("valid %s rejected: %v", typ, err)
		}
	}
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	cases := []struct {
		name, raw, field string
	}{
		{"not an object", `[1,2]`, "event"},
		{"no type", `{"props":{}}`, "type"},
		{"type not a string", `{"type":5,"props":{}}`, "type"},
		{"empty type", `{"type":"","props":{}}`, "type"},
		{"props not an object", `{"type":"search","props":"x"}`, "props"},
		{"behaviour without props", `{"type":"app_show"}`, "props"},
		{"no time", `{"type":"app_show","props":{"page":"p","wx_user":{"open_id":"o"}}}`, "props.time"},
		{"time as string", `{"type":"app_show","props":{"page":"p","time":"1795373591817","wx_user":{"open_id":"o"}}}`, "props.time"},
		{"time in seconds", `{"type":"app_show","props":{"page":"p","time":1795373591,"wx_user":{"open_id":"o"}}}`, "props.time"},
		{"no page", `{"type":"app_show","props":{"time":1795373591817,"wx_user":{"open_id":"o"}}}`, "props.page"},
		{"no user", `{"type":"app_show","props":{"page":"p","time":1795373591817}}`, "props.wx_user"},
		{"wx_user not an object", `{"type":"app_show","props":{"page":"p","time":1795373591817,"wx_user":"o"}}`, "props.wx_user"},
		{"scene as string", `{"type":"app_show","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"chan":{"chan_wxapp_scene":"x"}}}`, "props.chan.chan_wxapp_scene"},
		{"search without keyword", wrap("search", `{}`), "props.keyword"},
		{"search with blank keyword", wrap("search", `{"keyword":"  "}`), "props.keyword"},
		{"sku event without sku", wrap("expose_sku_component", `{}`), "props.sku"},
		{"sku without id", wrap("trigger_sku_component", `{"sku":{"sku_name":"n"}}`), "props.sku.sku_id"},
		{"cart without spu", wrap("add_to_cart", `{"sku":{"sku_id":"S1"},"sku_num":1}`), "props.spu"},
		{"cart without sku_num", wrap("add_to_cart", `{"sku":{"sku_id":"S1"},"spu":{"spu_id":"P1"}}`), "props.sku_num"},
		{"sku_num as string", wrap("add_to_cart", `{"sku":{"sku_id":"S1"},"spu":{"spu_id":"P1"},"sku_num":"2"}`), "props.sku_num"},
		{"price as string", wrap("browse_sku_page", `{"sku":{"sku_id":"S1"},"sale":{"current_price":"9.9"}}`), "props.sale.current_price"},
		{"order without order", wrap("custom_order", `{"sub_orders":[]}`), "props.order"},
		{"order without id", wrap("custom_order", `{"order":{"order_time":1795373591817,"order_status":"payed"},"sub_orders":[]}`), "props.order.order_id"},
		{"order without time", wrap("custom_order", `{"order":{"order_id":"O","order_status":"payed"},"sub_orders":[]}`), "props.order.order_time"},
		{"order bad status", wrap("custom_order", `{"order":{"order_id":"O","order_time":1795373591817,"order_status":"paid"},"sub_orders":[]}`), "props.order.order_status"},
		{"order without sub_orders", wrap("custom_order", `{"order":{"order_id":"O","order_time":1795373591817,"order_status":"payed"}}`), "props.sub_orders"},
		{"sub_orders not an array", wrap("custom_order", `{"order":{"order_id":"O","order_time":1795373591817,"order_status":"payed"},"sub_orders":{}}`), "props.sub_orders"},
		{"pay_amt as string", wrap("custom_order", `{"order":{"order_id":"O","order_time":1795373591817,"order_status":"payed"},"sub_orders":[{"pay_amt":"1"}]}`), "props.sub_orders[0].pay_amt"},
		{"deeply nested", `{"type":"x","props":` + deep + `}`, "event"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := event.Parse(json.RawMessage(c.raw))
			inv, ok := err.(*event.Invalid)
			if !ok {
				t.Fatalf("got %v, want an *Invalid for %s", err, c.field)
			}
			if inv.Field != c.field {
				t.Fatalf("field %q (%v), want %q", inv.Field, err, c.field)
			}
		})
	}
}

func TestUnknownAndSDKTypesStored(t *testing.T) {
	for raw, kind := range map[string]event.Kind{
		`{"type":"login_wxapp","props":{"time":1795373591817}}`:                       event.KindUnknown,
		`{"type":"sdk api exec error","props":{"message":"boom"}}`:                    event.KindSDK,
		`{"type":"sdk_error_log","props":{"_sdk_error_log":{"type":"JS_RUN_ERROR"}}}`: event.KindSDK,
	} {
		ev, err := event.Parse(json.RawMessage(raw))
		if err != nil || ev.Kind != kind {
			t.Errorf("%s: kind %s err %v, want %s", raw, ev.Kind, err, kind)
		}
	}
}

// A lone high surrogate escape at the very end of a string near the end
// of the input made goccy/go-json compute a pointer past its buffer, which
// `go test -race` (checkptr) aborts on: the parser's and TypeOf's calls
// into it must not.
func TestLoneSurrogateNearTheEnd(t *testing.T) {
	for _, raw := range []string{
		`{"type":"\ud800"}`,
		`{"type":"browse_wxapp_page","props":{"page":"p","time":1700000000000,"wx_user":{"open_id":"\ud800"}}}`,
	} {
		if typ := event.TypeOf(json.RawMessage(raw)); typ == "" {
			t.Errorf("TypeOf(%s) read no type", raw)
		}
		event.Parse(json.RawMessage(raw)) //nolint:errcheck // only that it returns
	}
}
