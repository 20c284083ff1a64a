package event

// The parser as it was before the one-pass rewrite (3ae5247), frozen: the
// reference that TestParseSameAsLegacy and FuzzParseSameAsLegacy hold the
// new parser to, so that stored events, quarantine reasons and dedup keys
// stay what they were for the same input.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type legacyEnvelope struct {
	Type       json.RawMessage `json:"type"`
	Props      json.RawMessage `json:"props"`
	From       json.RawMessage `json:"from"`
	TrackingID json.RawMessage `json:"tracking_id"`
	LogID      json.RawMessage `json:"log_id"`
}

// legacyParser parses the events of one upload. The SDK spreads the same context
// (wx_user, chan, system_info, ...) over every event of an upload, so the
// parser decodes a context once and reuses it while it repeats.
type legacyParser struct {
	// Received is when the upload arrived: an event time more than MaxAhead
	// after it is refused. Zero skips that check (tests, back-fills).
	Received time.Time

	sig    []byte // the raw context of the last event
	ctx    Event  // its context fields
	ctxErr error
}

// legacyParse decodes and validates one event of an SDK batch. A returned error is
// an *Invalid naming the field and the rule; TypeOf still tells the type for
// the quarantine when it could be read.
func legacyParse(raw json.RawMessage) (Event, error) {
	var p legacyParser
	return p.Parse(raw)
}

// legacyParse is the package-level legacyParse with the parser's context cache.
func (p *legacyParser) Parse(raw json.RawMessage) (Event, error) {
	var ev Event
	if len(raw) > MaxPropsBytes {
		return ev, invalid("event", "larger than %d bytes", MaxPropsBytes)
	}
	if d := legacyDepth(raw); d > MaxDepth {
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
	var env legacyEnvelope
	if err := legacyUnmarshal(raw, &env); err != nil {
		return ev, invalid("event", "must be a JSON object")
	}
	var err error
	if ev.Type, err = legacyReqString(env.Type, "type"); err != nil {
		return ev, err
	}
	if err := checkType(ev.Type); err != nil {
		return ev, err
	}
	ev.Kind = KindOf(ev.Type)
	if ev.From, err = legacyOptString(env.From, "from"); err != nil {
		return ev, err
	}
	if ev.TrackingID, err = legacyOptString(env.TrackingID, "tracking_id"); err != nil {
		return ev, err
	}
	if len(env.LogID) > 0 && !legacyIsNull(env.LogID) {
		f, err := legacyNumber(env.LogID, "log_id")
		if err != nil {
			return ev, err
		}
		if f != math.Trunc(f) || math.Abs(f) > maxSafe {
			return ev, invalid("log_id", "must be an integer from %d to %d, got %v", -maxSafe, maxSafe, f)
		}
		ev.LogID = int64(f)
	}
	if len(env.Props) == 0 || legacyIsNull(env.Props) {
		if ev.Kind == KindBehaviour {
			return ev, invalid("props", "required")
		}
		env.Props = json.RawMessage(`{}`)
	}
	var props map[string]json.RawMessage
	if err := legacyUnmarshal(env.Props, &props); err != nil {
		return ev, invalid("props", "must be an object")
	}
	if err := p.fill(&ev, props); err != nil {
		return ev, err
	}
	return ev, nil
}

func (p *legacyParser) fill(ev *Event, props map[string]json.RawMessage) error {
	own := make(map[string]json.RawMessage, len(props))
	ctx := make(map[string]json.RawMessage, 10)
	for k, v := range props {
		if ctxIndex([]byte(k)) >= 0 {
			ctx[k] = v
		} else {
			own[k] = v
		}
	}
	r := legacyReader{}
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

	if sig := legacyContextSignature(ctx); p.sig != nil && bytes.Equal(sig, p.sig) {
		legacyCopyContext(ev, &p.ctx)
		if p.ctxErr != nil {
			r.fail(p.ctxErr.(*Invalid))
		}
	} else {
		cr := legacyReader{}
		legacyFillContext(&cr, ev, ctx)
		p.sig, p.ctxErr = sig, cr.err
		legacyCopyContext(&p.ctx, ev)
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
		ev.legacyFillSKU(&r, own)
	case CustomOrder:
		ev.legacyFillOrder(&r, own)
	}
	if r.err != nil {
		return r.err
	}

	var err error
	if ev.Props, err = legacyMarshalSorted(own); err != nil {
		return invalid("props", "cannot be encoded: %v", err)
	}
	ev.Key = legacyDedupKey(ev.TrackingID, ev.Type, ev.Time, ev.Props)
	return nil
}

// legacyFillContext reads the context keys: the user, the channel and the store.
func legacyFillContext(r *legacyReader, ev *Event, ctx map[string]json.RawMessage) {
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
		if ev.Context, err = legacyMarshalSorted(ctx); err != nil {
			r.fail(invalid("props", "cannot be encoded: %v", err))
			return
		}
		ev.ContextID = legacyHash64(ev.Context)
	}
}

// legacyCopyContext copies the fields legacyFillContext sets.
func legacyCopyContext(dst, src *Event) {
	dst.Refer, dst.WxAppID, dst.OpenID, dst.UnionID, dst.LocalID, dst.UserID, dst.UserKey =
		src.Refer, src.WxAppID, src.OpenID, src.UnionID, src.LocalID, src.UserID, src.UserKey
	dst.Scene, dst.ChanID, dst.ReferApp, dst.GuideID, dst.RoomID, dst.ShopID, dst.ShopName =
		src.Scene, src.ChanID, src.ReferApp, src.GuideID, src.RoomID, src.ShopID, src.ShopName
	dst.GdtVid, dst.AdInfo, dst.QzGdt, dst.CustomID, dst.StoreID, dst.Context, dst.ContextID =
		src.GdtVid, src.AdInfo, src.QzGdt, src.CustomID, src.StoreID, src.Context, src.ContextID
}

// legacyContextSignature is the raw context, keys sorted, to recognise a repeat.
func legacyContextSignature(ctx map[string]json.RawMessage) []byte {
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

func (ev *Event) legacyFillSKU(r *legacyReader, own map[string]json.RawMessage) {
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

func (ev *Event) legacyFillOrder(r *legacyReader, own map[string]json.RawMessage) {
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
	if !ok || legacyIsNull(raw) {
		if r.err == nil {
			r.fail(invalid("props.sub_orders", "required"))
		}
		return
	}
	var subs []map[string]json.RawMessage
	if err := legacyUnmarshal(raw, &subs); err != nil {
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

// legacyReader reads typed props and remembers the first rule broken.
type legacyReader struct{ err error }

func (r *legacyReader) fail(err *Invalid) {
	if r.err == nil {
		r.err = err
	}
}

func (r *legacyReader) optString(m map[string]json.RawMessage, key, field string) (string, bool) {
	v, ok := m[key]
	if !ok || legacyIsNull(v) {
		return "", false
	}
	var s string
	if legacyUnmarshal(v, &s) != nil {
		r.fail(invalid(field, "must be a string"))
		return "", false
	}
	return s, true
}

// optScalar reads an id that apps send as a string or a number.
func (r *legacyReader) optScalar(m map[string]json.RawMessage, key, field string) (string, bool) {
	v, ok := m[key]
	if !ok || legacyIsNull(v) {
		return "", false
	}
	switch v[0] {
	case '"':
		var s string
		if legacyUnmarshal(v, &s) != nil {
			r.fail(invalid(field, "must be a string"))
			return "", false
		}
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(v), true
	}
	r.fail(invalid(field, "must be a string or a number"))
	return "", false
}

func (r *legacyReader) optNumber(m map[string]json.RawMessage, key, field string) (float64, bool) {
	v, ok := m[key]
	if !ok || legacyIsNull(v) {
		return 0, false
	}
	f, err := legacyNumber(v, field)
	if err != nil {
		r.fail(err.(*Invalid))
		return 0, false
	}
	return f, true
}

// optInt reads a number bounded by the integer column it goes to, so that
// it is never stored wrapped; a fraction is cut off as before.
func (r *legacyReader) optInt(m map[string]json.RawMessage, key, field string, lo, hi float64) (int64, bool) {
	f, ok := r.optNumber(m, key, field)
	if !ok {
		return 0, false
	}
	if f < lo || f > hi {
		r.fail(invalid(field, "must be a number from %.0f to %.0f, got %v", lo, hi, f))
		return 0, false
	}
	return int64(f), true
}

// optYuan reads an amount in yuan as fen.
func (r *legacyReader) optYuan(m map[string]json.RawMessage, key, field string) (int64, bool) {
	f, ok := r.optNumber(m, key, field)
	if !ok {
		return 0, false
	}
	if math.Abs(f) > maxYuan {
		r.fail(invalid(field, "must be an amount from %.0f to %.0f yuan, got %v", -maxYuan, maxYuan, f))
		return 0, false
	}
	return Fen(f), true
}

func (r *legacyReader) object(m map[string]json.RawMessage, key, field string) map[string]json.RawMessage {
	v, ok := m[key]
	if !ok || legacyIsNull(v) {
		return nil
	}
	var o map[string]json.RawMessage
	if legacyUnmarshal(v, &o) != nil {
		r.fail(invalid(field, "must be an object"))
		return nil
	}
	return o
}

func legacyNumber(v json.RawMessage, field string) (float64, error) {
	var f float64
	if legacyUnmarshal(v, &f) != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, invalid(field, "must be a number")
	}
	return f, nil
}

func legacyReqString(v json.RawMessage, field string) (string, error) {
	if len(v) == 0 || legacyIsNull(v) {
		return "", invalid(field, "required")
	}
	var s string
	if legacyUnmarshal(v, &s) != nil {
		return "", invalid(field, "must be a string")
	}
	return s, nil
}

func legacyOptString(v json.RawMessage, field string) (string, error) {
	if len(v) == 0 || legacyIsNull(v) {
		return "", nil
	}
	var s string
	if legacyUnmarshal(v, &s) != nil {
		return "", invalid(field, "must be a string")
	}
	return s, nil
}

func legacyIsNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// legacyDepth is the deepest nesting of objects and arrays in a JSON text; strings
// are skipped so brackets inside them do not count.
func legacyDepth(b []byte) int {
	d, max, inStr, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			d++
			if d > max {
				max = d
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return max
}

// legacyMarshalSorted encodes a map with sorted keys and compacted values, so that
// equal content always gives equal bytes (and equal hashes).
func legacyMarshalSorted(m map[string]json.RawMessage) (json.RawMessage, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.Grow(256)
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		if err := json.Compact(&buf, m[k]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func legacyHash64(b []byte) int64 {
	h := fnv.New64a()
	h.Write(b)
	return int64(h.Sum64())
}

// legacyDedupKey is the content key of an event: an SDK re-send has the same
// tracking_id, type, time and own props, but a new log_id and possibly a
// newer context.
func legacyDedupKey(trackingID, typ string, t time.Time, props []byte) int64 {
	h := fnv.New64a()
	h.Write([]byte(trackingID))
	h.Write([]byte{0})
	h.Write([]byte(typ))
	h.Write([]byte{0})
	var ts [8]byte
	ms := t.UnixMilli()
	for i := range ts {
		ts[i] = byte(ms >> (8 * i))
	}
	h.Write(ts[:])
	h.Write(props)
	return int64(h.Sum64())
}

// BenchmarkParseLegacy is BenchmarkParse for the parser before, so that
// both can be measured in one run: -bench 'Parse(Legacy)?$'.
func BenchmarkParseLegacy(b *testing.B) {
	var ups [][][]byte
	n := 0
	for _, up := range uploadsOf(b, "testdata/captured-2.1.1.jsonl") {
		ups = append(ups, up)
		n += len(up)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, up := range ups {
			var p legacyParser // one per upload, as the collector did
			for _, r := range up {
				if _, err := p.Parse(r); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/event")
}

// legacyUnmarshal is goccyUnmarshal: the old parser as it was, but safe
// under the race detector (see goccyUnmarshal).
func legacyUnmarshal(data []byte, v any) error { return goccyUnmarshal(data, v) }
