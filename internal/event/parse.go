package event

import (
	"bytes"
	"encoding/json"

	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// MaxDepth is the deepest nesting of objects and arrays accepted in an event.
const MaxDepth = 32

// MaxPropsBytes bounds one event's JSON. The SDK only warns past 5000
// characters of props; 64 KiB leaves room for real apps and stops abuse.
const MaxPropsBytes = 64 << 10

// Plausible client clock: 13-digit milliseconds.
const (
	minTimeMS = 1_000_000_000_000
	maxTimeMS = 9_999_999_999_999
)

// Bounds of what an event may carry (docs/sdk.md lists them).
const (
	// MaxAhead is how far after its upload's receipt an event's time may
	// be: a client clock a little fast, not one years off.
	MaxAhead = 24 * time.Hour
	// MaxTypeLen bounds an event type, in characters.
	MaxTypeLen = 64
	// maxSafe is the largest integer JavaScript, the SDK's language,
	// counts exactly (2^53−1): log_id, stay_time and sku_num beyond it are
	// no counts, and would not fit the 64-bit columns once wrapped.
	maxSafe = 1<<53 - 1
	// maxYuan bounds a price or an amount, either way: a trillion yuan,
	// far beyond any order and well inside int64 fen.
	maxYuan = 1e12
)

// Earliest is the earliest event time accepted: the day WeChat
// mini-programs were launched (2017-01-09, China time); no app's event
// can be older.
var Earliest = time.Date(2017, 1, 9, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Invalid is the reason an event is quarantined: the field and the rule.
type Invalid struct {
	Field string
	Rule  string
}

func (e *Invalid) Error() string { return e.Field + ": " + e.Rule }

func invalid(field, rule string, args ...any) *Invalid {
	return &Invalid{Field: field, Rule: fmt.Sprintf(rule, args...)}
}

type envelope struct {
	Type       json.RawMessage `json:"type"`
	Props      json.RawMessage `json:"props"`
	From       json.RawMessage `json:"from"`
	TrackingID json.RawMessage `json:"tracking_id"`
	LogID      json.RawMessage `json:"log_id"`
}

// Parser parses the events of one upload. The SDK spreads the same context
// (wx_user, chan, system_info, ...) over every event of an upload, so the
// parser decodes a context once and reuses it while it repeats.
type Parser struct {
	// Received is when the upload arrived: an event time more than MaxAhead
	// after it is refused. Zero skips that check (tests, back-fills).
	Received time.Time

	sig    []byte // the raw context of the last event
	ctx    Event  // its context fields
	ctxErr error
}

// Parse decodes and validates one event of an SDK batch. A returned error is
// an *Invalid naming the field and the rule; TypeOf still tells the type for
// the quarantine when it could be read.
func Parse(raw json.RawMessage) (Event, error) {
	var p Parser
	return p.Parse(raw)
}

// Parse is the package-level Parse with the parser's context cache.
func (p *Parser) Parse(raw json.RawMessage) (Event, error) {
	var ev Event
	if len(raw) > MaxPropsBytes {
		return ev, invalid("event", "larger than %d bytes", MaxPropsBytes)
	}
	if d := depth(raw); d > MaxDepth {
		return ev, invalid("event", "nested deeper than %d levels", MaxDepth)
	}
	// The fast decoder below reads past the end of malformed input (a
	// panic, found by FuzzParse): it only ever sees valid JSON.
	if !json.Valid(raw) {
		return ev, invalid("event", "must be a JSON object")
	}
	// Props are re-encoded (sorted keys): invalid UTF-8 would come back
	// as other bytes, and the dedup key with it.
	if !utf8.Valid(raw) {
		return ev, invalid("event", "must be valid UTF-8")
	}
	var env envelope
	if err := gojson.Unmarshal(raw, &env); err != nil {
		return ev, invalid("event", "must be a JSON object")
	}
	var err error
	if ev.Type, err = reqString(env.Type, "type"); err != nil {
		return ev, err
	}
	if err := checkType(ev.Type); err != nil {
		return ev, err
	}
	ev.Kind = KindOf(ev.Type)
	if ev.From, err = optString(env.From, "from"); err != nil {
		return ev, err
	}
	if ev.TrackingID, err = optString(env.TrackingID, "tracking_id"); err != nil {
		return ev, err
	}
	if len(env.LogID) > 0 && !isNull(env.LogID) {
		f, err := number(env.LogID, "log_id")
		if err != nil {
			return ev, err
		}
		if f != math.Trunc(f) || math.Abs(f) > maxSafe {
			return ev, invalid("log_id", "must be an integer from %d to %d, got %v", -maxSafe, maxSafe, f)
		}
		ev.LogID = int64(f)
	}
	if len(env.Props) == 0 || isNull(env.Props) {
		if ev.Kind == KindBehaviour {
			return ev, invalid("props", "required")
		}
		env.Props = json.RawMessage(`{}`)
	}
	var props map[string]json.RawMessage
	if err := gojson.Unmarshal(env.Props, &props); err != nil {
		return ev, invalid("props", "must be an object")
	}
	if err := p.fill(&ev, props); err != nil {
		return ev, err
	}
	return ev, nil
}

// TypeOf reads the event type of a raw event, for the quarantine, cut to
// MaxTypeLen characters (the raw event keeps all of it).
func TypeOf(raw json.RawMessage) string {
	var env struct {
		Type any `json:"type"`
	}
	if !json.Valid(raw) || gojson.Unmarshal(raw, &env) != nil {
		return ""
	}
	s, _ := env.Type.(string)
	if utf8.RuneCountInString(s) > MaxTypeLen {
		s = string([]rune(s)[:MaxTypeLen]) + "…"
	}
	return s
}

// checkType bounds an event type: anyone holding the public SDK token
// could otherwise create types of any size and alphabet. Apps name their
// own events like the SDK does (login_wxapp, "sdk api exec error") or in
// Chinese; nobody needs markup, quotes or control characters.
func checkType(typ string) *Invalid {
	switch n := utf8.RuneCountInString(typ); {
	case n == 0:
		return invalid("type", "must not be empty")
	case n > MaxTypeLen:
		return invalid("type", "must be at most %d characters, got %d", MaxTypeLen, n)
	}
	for _, c := range typ {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune(" _-.:/", c) {
			return invalid("type", "must be letters, digits, spaces and _ - . : / only, got %q", typ)
		}
	}
	if typ[0] == ' ' || typ[len(typ)-1] == ' ' {
		return invalid("type", "must not begin or end with a space, got %q", typ)
	}
	return nil
}

func (p *Parser) fill(ev *Event, props map[string]json.RawMessage) error {
	own := make(map[string]json.RawMessage, len(props))
	ctx := make(map[string]json.RawMessage, 10)
	for k, v := range props {
		if contextKeys[k] {
			ctx[k] = v
		} else {
			own[k] = v
		}
	}
	r := reader{}
	behaviour := ev.Kind == KindBehaviour

	// Common props.
	if t, ok := r.optNumber(own, "time", "props.time"); ok {
		at := time.UnixMilli(int64(t)).UTC()
		switch {
		case t < minTimeMS || t > maxTimeMS:
			r.fail(invalid("props.time", "must be Unix milliseconds (13 digits), got %v", t))
		case at.Before(Earliest):
			r.fail(invalid("props.time", "must not be before 2017-01-09 (when mini-programs began), got %v (%s)", t, at.Format(time.RFC3339)))
		case !p.Received.IsZero() && at.Sub(p.Received) > MaxAhead:
			r.fail(invalid("props.time", "%v (%s) is more than a day after the upload was received (%s); is the client's clock wrong?",
				t, at.Format(time.RFC3339), p.Received.UTC().Format(time.RFC3339)))
		}
		ev.Time = at
	} else if behaviour && r.err == nil {
		r.fail(invalid("props.time", "required"))
	}
	page, hasPage := r.optString(own, "page", "props.page")
	if behaviour && !hasPage && r.err == nil {
		r.fail(invalid("props.page", "required"))
	}
	ev.Page, ev.PageQry, _ = strings.Cut(strings.TrimPrefix(page, "/"), "?")
	ev.Title, _ = r.optString(own, "page_title", "props.page_title")

	if sig := contextSignature(ctx); p.sig != nil && bytes.Equal(sig, p.sig) {
		copyContext(ev, &p.ctx)
		if p.ctxErr != nil {
			r.fail(p.ctxErr.(*Invalid))
		}
	} else {
		cr := reader{}
		fillContext(&cr, ev, ctx)
		p.sig, p.ctxErr = sig, cr.err
		copyContext(&p.ctx, ev)
		if cr.err != nil {
			r.fail(cr.err.(*Invalid))
		}
	}
	if behaviour && ev.UserKey == "" && r.err == nil {
		r.fail(invalid("props.wx_user", "open_id or local_id required"))
	}

	// Per-behaviour props.
	switch ev.Type {
	case LeaveWxappPage:
		ev.StayMS, _ = r.optInt(own, "stay_time", "props.stay_time", -maxSafe, maxSafe)
	case PageShareAppMessage:
		ev.ShareTo, _ = r.optString(own, "share_to", "props.share_to")
		r.optString(own, "from_type", "props.from_type")
		r.optString(own, "share_path", "props.share_path")
	case Search:
		kw, ok := r.optString(own, "keyword", "props.keyword")
		if (!ok || strings.TrimSpace(kw) == "") && r.err == nil {
			r.fail(invalid("props.keyword", "required"))
		}
		ev.Keyword = kw
	case ExposeSKUComponent, TriggerSKUComponent, BrowseSKUPage, AddToCart:
		ev.fillSKU(&r, own)
	case CustomOrder:
		ev.fillOrder(&r, own)
	}
	if r.err != nil {
		return r.err
	}

	var err error
	if ev.Props, err = marshalSorted(own); err != nil {
		return invalid("props", "cannot be encoded: %v", err)
	}
	ev.Key = dedupKey(ev.TrackingID, ev.Type, ev.Time, ev.Props)
	return nil
}

// fillContext reads the context keys: the user, the channel and the store.
func fillContext(r *reader, ev *Event, ctx map[string]json.RawMessage) {
	ev.Refer, _ = r.optString(ctx, "refer_page", "props.refer_page")
	if u := r.object(ctx, "wx_user", "props.wx_user"); u != nil {
		ev.WxAppID, _ = r.optString(u, "app_id", "props.wx_user.app_id")
		ev.OpenID, _ = r.optString(u, "open_id", "props.wx_user.open_id")
		ev.UnionID, _ = r.optString(u, "union_id", "props.wx_user.union_id")
		ev.LocalID, _ = r.optString(u, "local_id", "props.wx_user.local_id")
		ev.UserID, _ = r.optScalar(u, "user_id", "props.wx_user.user_id")
	}
	ev.UserKey = ev.OpenID
	if ev.UserKey == "" {
		ev.UserKey = ev.LocalID
	}
	if c := r.object(ctx, "chan", "props.chan"); c != nil {
		if s, ok := r.optInt(c, "chan_wxapp_scene", "props.chan.chan_wxapp_scene", math.MinInt32, math.MaxInt32); ok {
			ev.Scene = int32(s)
		}
		ev.ChanID, _ = r.optScalar(c, "chan_id", "props.chan.chan_id")
		ev.ReferApp, _ = r.optString(c, "chan_refer_app_id", "props.chan.chan_refer_app_id")
		ev.GuideID, _ = r.optScalar(c, "guide_id", "props.chan.guide_id")
		ev.RoomID, _ = r.optScalar(c, "room_id", "props.chan.room_id")
		ev.ShopID, _ = r.optScalar(c, "chan_shop_id", "props.chan.chan_shop_id")
		ev.ShopName, _ = r.optString(c, "chan_shop_name", "props.chan.chan_shop_name")
		ev.GdtVid, _ = r.optString(c, "gdt_vid", "props.chan.gdt_vid")
		ev.AdInfo, _ = r.optString(c, "weixinadinfo", "props.chan.weixinadinfo")
		ev.QzGdt, _ = r.optString(c, "qz_gdt", "props.chan.qz_gdt")
		if cc := r.object(c, "chan_custom", "props.chan.chan_custom"); cc != nil {
			ev.CustomID, _ = r.optScalar(cc, "chan_custom_id", "props.chan.chan_custom.chan_custom_id")
		}
	}
	if si := r.object(ctx, "store_info", "props.store_info"); si != nil {
		ev.StoreID, _ = r.optScalar(si, "external_store_id", "props.store_info.external_store_id")
	}
	if ev.ShopID == "" {
		ev.ShopID = ev.StoreID
	}
	r.optString(ctx, "sr_sdk_version", "props.sr_sdk_version")
	if len(ctx) > 0 && r.err == nil {
		var err error
		if ev.Context, err = marshalSorted(ctx); err != nil {
			r.fail(invalid("props", "cannot be encoded: %v", err))
			return
		}
		ev.ContextID = hash64(ev.Context)
	}
}

// copyContext copies the fields fillContext sets.
func copyContext(dst, src *Event) {
	dst.Refer, dst.WxAppID, dst.OpenID, dst.UnionID, dst.LocalID, dst.UserID, dst.UserKey =
		src.Refer, src.WxAppID, src.OpenID, src.UnionID, src.LocalID, src.UserID, src.UserKey
	dst.Scene, dst.ChanID, dst.ReferApp, dst.GuideID, dst.RoomID, dst.ShopID, dst.ShopName =
		src.Scene, src.ChanID, src.ReferApp, src.GuideID, src.RoomID, src.ShopID, src.ShopName
	dst.GdtVid, dst.AdInfo, dst.QzGdt, dst.CustomID, dst.StoreID, dst.Context, dst.ContextID =
		src.GdtVid, src.AdInfo, src.QzGdt, src.CustomID, src.StoreID, src.Context, src.ContextID
}

// contextSignature is the raw context, keys sorted, to recognise a repeat.
func contextSignature(ctx map[string]json.RawMessage) []byte {
	keys := make([]string, 0, len(ctx))
	n := 0
	for k, v := range ctx {
		keys = append(keys, k)
		n += len(k) + len(v) + 2
	}
	sort.Strings(keys)
	sig := make([]byte, 0, n)
	for _, k := range keys {
		sig = append(sig, k...)
		sig = append(sig, 0)
		sig = append(sig, ctx[k]...)
		sig = append(sig, 0)
	}
	return sig
}

func (ev *Event) fillSKU(r *reader, own map[string]json.RawMessage) {
	sku := r.object(own, "sku", "props.sku")
	if sku == nil && r.err == nil {
		r.fail(invalid("props.sku", "required"))
		return
	}
	if sku != nil {
		id, ok := r.optScalar(sku, "sku_id", "props.sku.sku_id")
		if (!ok || id == "") && r.err == nil {
			r.fail(invalid("props.sku.sku_id", "required"))
		}
		ev.SKUID = id
		ev.SKUName, _ = r.optString(sku, "sku_name", "props.sku.sku_name")
	}
	spu := r.object(own, "spu", "props.spu")
	if spu != nil {
		ev.SPUID, _ = r.optScalar(spu, "spu_id", "props.spu.spu_id")
	}
	if ev.Type == AddToCart {
		if spu == nil && r.err == nil {
			r.fail(invalid("props.spu", "required"))
		}
		n, ok := r.optInt(own, "sku_num", "props.sku_num", -maxSafe, maxSafe)
		if !ok && r.err == nil {
			r.fail(invalid("props.sku_num", "required"))
		}
		ev.SKUNum = n
		ev.ActionType, _ = r.optString(own, "action_type", "props.action_type")
	}
	if sale := r.object(own, "sale", "props.sale"); sale != nil {
		ev.PriceFen, _ = r.optYuan(sale, "current_price", "props.sale.current_price")
		r.optYuan(sale, "original_price", "props.sale.original_price")
	}
	if sh := r.object(own, "shipping_shop", "props.shipping_shop"); sh != nil && ev.ShopID == "" {
		ev.ShopID, _ = r.optScalar(sh, "shipping_shop_id", "props.shipping_shop.shipping_shop_id")
	}
}

func (ev *Event) fillOrder(r *reader, own map[string]json.RawMessage) {
	o := r.object(own, "order", "props.order")
	if o == nil {
		if r.err == nil {
			r.fail(invalid("props.order", "required"))
		}
		return
	}
	id, ok := r.optScalar(o, "order_id", "props.order.order_id")
	if (!ok || id == "") && r.err == nil {
		r.fail(invalid("props.order.order_id", "required"))
	}
	ev.OrderID = id
	if _, ok := r.optNumber(o, "order_time", "props.order.order_time"); !ok && r.err == nil {
		r.fail(invalid("props.order.order_time", "required"))
	}
	st, ok := r.optString(o, "order_status", "props.order.order_status")
	if r.err == nil {
		switch {
		case !ok:
			r.fail(invalid("props.order.order_status", "required"))
		case !orderStatuses[st]:
			r.fail(invalid("props.order.order_status", "must be one of give_order, cancel_pay, cancel_give_order, pay, payed, refund; got %q", st))
		}
	}
	ev.OrderStatus = st
	raw, ok := own["sub_orders"]
	if !ok || isNull(raw) {
		if r.err == nil {
			r.fail(invalid("props.sub_orders", "required"))
		}
		return
	}
	var subs []map[string]json.RawMessage
	if err := gojson.Unmarshal(raw, &subs); err != nil {
		r.fail(invalid("props.sub_orders", "must be an array of objects"))
		return
	}
	for i, s := range subs {
		f := fmt.Sprintf("props.sub_orders[%d]", i)
		// At most 64 KiB of sub-orders of at most a trillion yuan each:
		// the sums stay far inside int64.
		a, _ := r.optYuan(s, "order_amt", f+".order_amt")
		ev.OrderFen += a
		a, _ = r.optYuan(s, "pay_amt", f+".pay_amt")
		ev.PayFen += a
	}
}

// Fen converts a yuan amount as sent by the SDK into integer fen.
func Fen(yuan float64) int64 { return int64(math.Round(yuan * 100)) }
