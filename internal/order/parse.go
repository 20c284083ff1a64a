package order

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// Order statuses (order_status).
const (
	StatusAwaitingPayment       = 1110
	StatusCancelled             = 1130 // before payment
	StatusCancelledAfterPayment = 1140 // before shipping
	StatusPaid                  = 1150 // awaiting shipment
	StatusShipped               = 1160
	StatusRejected              = 1170 // rejected on delivery (tolerated)
	StatusCompleted             = 1180
	StatusRefunding             = 1280
	StatusRefunded              = 1290
	StatusOther                 = 9999 // tolerated
)

var statuses = map[int64]bool{
	StatusAwaitingPayment: true, StatusCancelled: true, StatusCancelledAfterPayment: true, StatusPaid: true,
	StatusShipped: true, StatusRejected: true, StatusCompleted: true, StatusRefunding: true, StatusRefunded: true,
	StatusOther: true,
}

// Paid tells whether an order in status has been paid: 1150 and every
// status that can only follow a payment (1140 cancelled after payment,
// shipped, rejected on delivery, completed, refunding, refunded).
func Paid(status int64) bool {
	switch status {
	case StatusCancelledAfterPayment, StatusPaid, StatusShipped, StatusRejected, StatusCompleted,
		StatusRefunding, StatusRefunded:
		return true
	}
	return false
}

var orderSources = map[string]bool{
	"wxapp": true, "app": true, "mobileweb": true, "pcweb": true,
	"offstore_pos_manual": true, "offstore_pos_self_help": true, "other": true,
}

// MaxID bounds ids and MaxText other strings the analyses read.
const (
	MaxID   = 128
	MaxText = 1024
)

// Plausible 13-digit Unix milliseconds.
const (
	minMS = 1_000_000_000_000
	maxMS = 9_999_999_999_999
)

// maxYuan keeps amounts far inside int64 fen.
const maxYuan = 1e12

// checker collects broken rules, up to MaxProblems.
type checker struct {
	problems []Problem
	more     bool
}

func (c *checker) add(field, rule string, args ...any) {
	if len(c.problems) >= MaxProblems {
		c.more = true
		return
	}
	c.problems = append(c.problems, Problem{field, fmt.Sprintf(rule, args...)})
}

func (c *checker) err() *Error {
	if len(c.problems) == 0 {
		return nil
	}
	e := invalid(c.problems)
	if c.more {
		e.Msg += "; and more"
	}
	return e
}

// obj is a JSON object being read (decoded with json.Number for numbers,
// so amounts keep the decimals sent); absent and null members are the same.
type obj struct {
	c    *checker
	path string
	m    map[string]any
}

func (o obj) field(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// show is a value as it was sent, for error messages.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 80 {
		return fmt.Sprintf("a %T", v)
	}
	return string(b)
}

// get returns a member's value, noting a missing required one.
func (o obj) get(key string, required bool) (any, bool) {
	v, ok := o.m[key]
	if !ok || v == nil {
		if required {
			o.c.add(o.field(key), "required")
		}
		return nil, false
	}
	return v, true
}

// decodeItem decodes one item of a list, numbers as json.Number.
func decodeItem(raw json.RawMessage) any {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	if _, err := d.Token(); err != io.EOF {
		return nil // more after the value
	}
	return v
}

func asObject(c *checker, v any, path string) (obj, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		c.add(path, "must be an object")
		return obj{}, false
	}
	return obj{c: c, path: path, m: m}, true
}

func (o obj) object(key string, required bool) (obj, bool) {
	v, ok := o.get(key, required)
	if !ok {
		return obj{}, false
	}
	return asObject(o.c, v, o.field(key))
}

func (o obj) array(key string, required bool) ([]any, bool) {
	v, ok := o.get(key, required)
	if !ok {
		return nil, false
	}
	a, ok := v.([]any)
	if !ok {
		o.c.add(o.field(key), "must be an array")
		return nil, false
	}
	return a, true
}

func (o obj) str(key string, required bool) string {
	v, ok := o.get(key, required)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		o.c.add(o.field(key), "must be a string")
		return ""
	}
	return o.text(key, s, required, MaxText)
}

// text applies the rules every string field shares: not empty when
// required, at most limit bytes ("" when longer).
func (o obj) text(key, s string, required bool, limit int) string {
	if required && s == "" {
		o.c.add(o.field(key), "must not be empty")
	}
	if len(s) > limit {
		o.c.add(o.field(key), "at most %d bytes", limit)
		return ""
	}
	return s
}

// id reads an identifier: a string, or an integer some clients send.
func (o obj) id(key string, required bool) string {
	v, ok := o.get(key, required)
	if !ok {
		return ""
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			o.c.add(o.field(key), "must be a string (or an integer)")
			return ""
		}
		s = string(x)
	default:
		o.c.add(o.field(key), "must be a string")
		return ""
	}
	return o.text(key, s, required, MaxID)
}

func (o obj) number(key string, required bool) (float64, bool) {
	v, ok := o.get(key, required)
	if !ok {
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		o.c.add(o.field(key), "must be a number")
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		o.c.add(o.field(key), "must be a finite number")
		return 0, false
	}
	return f, true
}

// yuan reads an amount in yuan and returns it in fen. The decimal as sent
// is converted exactly and rounded half away from zero (1.005 is 101 fen),
// not through a float (where 1.005 is 1.00499… and would round to 100).
func (o obj) yuan(key string, required bool) int64 {
	v, ok := o.get(key, required)
	if !ok {
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		o.c.add(o.field(key), "must be a number")
		return 0
	}
	fen, ok := toFen(string(n))
	if !ok || fen < 0 || fen > maxYuan*100 {
		o.c.add(o.field(key), "must be an amount in yuan from 0 to %.0f, got %s", maxYuan, n)
		return 0
	}
	return fen
}

// toFen converts a JSON number of yuan into fen, exactly.
func toFen(text string) (int64, bool) {
	// Fast path: an integer part and at most two decimals.
	whole, frac, _ := strings.Cut(text, ".")
	if len(frac) <= 2 && !strings.ContainsAny(text, "eE-") && len(whole) <= 13 {
		w, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return 0, false
		}
		f := int64(0)
		if frac != "" {
			if f, err = strconv.ParseInt(frac, 10, 64); err != nil {
				return 0, false
			}
			if len(frac) == 1 {
				f *= 10
			}
		}
		if w*100+f > maxYuan*100 {
			return 0, false // the bound of the slow path below (found by FuzzToFen)
		}
		return w*100 + f, true
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return 0, false
	}
	r.Mul(r, big.NewRat(100, 1))
	if r.Abs(r).Cmp(big.NewRat(maxYuan*100+1, 1)) > 0 {
		return 0, false
	}
	// Round half away from zero: floor(|x| + 1/2), sign restored.
	neg := strings.HasPrefix(text, "-")
	r.Add(r, big.NewRat(1, 2))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if neg {
		n.Neg(n)
	}
	return n.Int64(), true
}

func (o obj) integer(key string, required bool, min, max int64) int64 {
	f, ok := o.number(key, required)
	if !ok {
		return 0
	}
	if f != math.Trunc(f) {
		o.c.add(o.field(key), "must be an integer, got %v", f)
		return 0
	}
	if f < float64(min) || f > float64(max) {
		o.c.add(o.field(key), "must be from %d to %d, got %v", min, max, f)
		return 0
	}
	return int64(f)
}

// scalar is the text of a value that may come as a string or a number.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	}
	return "", false
}

// ms reads a time as 13-digit Unix milliseconds, a string (as the spec
// says) or a number.
func (o obj) ms(key string, required bool) time.Time {
	v, ok := o.get(key, required)
	if !ok {
		return time.Time{}
	}
	text, ok := scalar(v)
	if !ok {
		o.c.add(o.field(key), "must be Unix milliseconds (13 digits) as a string or number")
		return time.Time{}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < minMS || n > maxMS {
		o.c.add(o.field(key), "must be Unix milliseconds (13 digits), got %s", show(v))
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// status reads order_status: one of the codes, as a string or a number.
func (o obj) status(key string) int64 {
	v, ok := o.get(key, true)
	if !ok {
		return 0
	}
	text, ok := scalar(v)
	if !ok {
		o.c.add(o.field(key), "must be a status code string such as \"1150\"")
		return 0
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || !statuses[n] {
		o.c.add(o.field(key), "must be one of 1110, 1130, 1140, 1150, 1160, 1170, 1180, 1280, 1290, 9999; got %s", show(v))
		return 0
	}
	return n
}

// day reads a day: 13-digit Unix ms of an instant of it (cut in loc), or
// "YYYYMMDD" / "YYYY-MM-DD". The result is the date at 00:00 UTC.
func (o obj) day(key string, loc *time.Location) time.Time {
	v, ok := o.get(key, true)
	if !ok {
		return time.Time{}
	}
	text, _ := scalar(v)
	for _, layout := range []string{"20060102", time.DateOnly} {
		if len(text) == len(layout) {
			if t, err := time.Parse(layout, text); err == nil {
				return t
			}
		}
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil && n >= minMS && n <= maxMS {
		y, m, d := time.UnixMilli(n).In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	o.c.add(o.field(key), "must be a day: Unix milliseconds (13 digits), YYYYMMDD or YYYY-MM-DD; got %s", show(v))
	return time.Time{}
}

// sceneOf reads a WeChat scene value, a number or a numeric string.
func (o obj) sceneOf(key string) int64 {
	v, ok := o.get(key, false)
	if !ok {
		return 0
	}
	text, _ := scalar(v)
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt32 {
		o.c.add(o.field(key), "must be a WeChat scene number, got %s", show(v))
		return 0
	}
	return n
}

// item is one element of a call's list: as sent, and decoded when the
// body was read in one pass.
type item struct {
	raw json.RawMessage
	v   any
}

// value is the item decoded.
func (it item) value() any {
	if it.v == nil {
		return decodeItem(it.raw)
	}
	return it.v
}

// envelope reads the body's object, its dataSourceId and its list of items
// (orders or rawMsg), refusing more than MaxItems. Each item is kept as
// sent next to its decoded value.
func envelope(body []byte, list string) (*checker, string, []item, *Error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, "", nil, refuse(CodeBadBody, nil, "body is empty; expected a JSON object with dataSourceId and %s", list)
	}
	if !utf8.Valid(body) {
		return nil, "", nil, refuse(CodeBadBody, nil, "body is not valid UTF-8")
	}
	c := &checker{}
	root := obj{c: c, m: map[string]any{}}
	src, items, hasList, ok := streamEnvelope(body, list)
	listBad := false
	if !ok {
		// Not the expected shape: read it again, member by member, to
		// find out why.
		var v any
		if e := json.Unmarshal(body, &v); e != nil {
			return nil, "", nil, refuse(CodeBadBody, nil, "body is not valid JSON: %v", e)
		}
		var members map[string]json.RawMessage
		if json.Unmarshal(body, &members) != nil {
			return nil, "", nil, refuse(CodeBadBody, nil, "body must be a JSON object")
		}
		src, items, hasList = nil, nil, false
		if raw, ok := members["dataSourceId"]; ok {
			src = decodeItem(raw)
		}
		if raw, ok := members[list]; ok && string(raw) != "null" {
			var raws []json.RawMessage
			if json.Unmarshal(raw, &raws) != nil {
				listBad = true
				c.add(list, "must be an array")
			} else {
				hasList = true
				for _, r := range raws {
					items = append(items, item{raw: r})
				}
			}
		}
	}
	if src != nil {
		root.m["dataSourceId"] = src
	}
	id := root.id("dataSourceId", true)
	switch {
	case !hasList:
		if !listBad {
			c.add(list, "required")
		}
	case len(items) == 0:
		c.add(list, "must not be empty")
	case len(items) > MaxItems:
		return nil, "", nil, &Error{Code: CodeTooMany,
			Msg:      fmt.Sprintf("%s: at most %d items per call, got %d", list, MaxItems, len(items)),
			Problems: []Problem{{list, fmt.Sprintf("at most %d items", MaxItems)}}}
	}
	return c, id, items, nil
}

// streamEnvelope reads a body of the expected shape in one pass: each item
// is decoded as it is met, its bytes sliced from the body. Anything else
// (not an object, the list not an array, a syntax error) reports !ok.
func streamEnvelope(body []byte, list string) (src any, items []item, hasList, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, false, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, false, false
		}
		switch key, _ := t.(string); key {
		case list:
			t, err := dec.Token()
			if err != nil {
				return nil, nil, false, false
			}
			if t == nil { // null: as if absent
				items, hasList = nil, false
				continue
			}
			if t != json.Delim('[') {
				return nil, nil, false, false
			}
			items, hasList = []item{}, true
			for dec.More() {
				start := dec.InputOffset()
				var v any
				if err := dec.Decode(&v); err != nil {
					return nil, nil, false, false
				}
				raw := bytes.TrimLeft(body[start:dec.InputOffset()], " \t\r\n,")
				items = append(items, item{raw: raw, v: v})
			}
			if t, err := dec.Token(); err != nil || t != json.Delim(']') {
				return nil, nil, false, false
			}
		case "dataSourceId":
			src = nil
			if err := dec.Decode(&src); err != nil {
				return nil, nil, false, false
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, nil, false, false
			}
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, nil, false, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, false, false
	}
	return src, items, hasList, true
}

// parseOrders reads and checks an add_order body.
func parseOrders(body []byte) (string, []store.Order, *Error) {
	c, src, items, err := envelope(body, "orders")
	if err != nil {
		return "", nil, err
	}
	orders := make([]store.Order, 0, len(items))
	for i, it := range items {
		o, ok := asObject(c, it.value(), fmt.Sprintf("orders[%d]", i))
		if !ok {
			continue
		}
		orders = append(orders, readOrder(o, it.raw))
	}
	if err := c.err(); err != nil {
		return "", nil, err
	}
	return src, orders, nil
}

func readOrder(o obj, raw json.RawMessage) store.Order {
	r := store.Order{
		ExternalID:    o.id("external_order_id", true),
		CreateTime:    o.ms("create_time", true),
		Source:        o.str("order_source", true),
		Type:          o.integer("order_type", true, 1, math.MaxInt32),
		BrandID:       o.id("brand_id", false),
		BrandName:     o.str("brand_name", false),
		GoodsNumTotal: o.integer("goods_num_total", true, 0, math.MaxInt32),
		GoodsFen:      o.yuan("goods_amount_total", true),
		FreightFen:    o.yuan("freight_amount", true),
		OrderFen:      o.yuan("order_amount", true),
		PayableFen:    o.yuan("payable_amount", true),
		PaymentFen:    o.yuan("payment_amount", true),
		Status:        o.status("order_status"),
		StatusTime:    o.ms("status_change_time", true),
		Deleted:       o.integer("is_deleted", false, 0, 1) == 1,
		Raw:           raw,
	}
	if r.Source != "" && !orderSources[r.Source] {
		o.c.add(o.field("order_source"), "must be one of wxapp, app, mobileweb, pcweb, offstore_pos_manual, offstore_pos_self_help, other; got %q", r.Source)
	}
	if Paid(r.Status) {
		r.PaidTime = r.StatusTime
	}

	if u, ok := o.object("user_info", true); ok {
		r.OpenID = u.str("open_id", r.Source == "wxapp")
		r.UnionID = u.str("union_id", false)
		r.WxAppID = u.str("app_id", false)
		r.UserID = u.id("user_id", false)
		r.MemberID = u.id("member_id", false)
		u.ms("user_first_order_time", false)
	}

	if goods, ok := o.array("goods_info", true); ok {
		if len(goods) == 0 {
			o.c.add(o.field("goods_info"), "must not be empty")
		}
		r.Goods = make([]store.Goods, 0, len(goods))
		for j, graw := range goods {
			g, ok := asObject(o.c, graw, fmt.Sprintf("%s[%d]", o.field("goods_info"), j))
			if !ok {
				continue
			}
			r.Goods = append(r.Goods, readGoods(g, &r))
		}
	}

	payments, hasPayments := o.array("payment_info", r.Status != 0 && r.Status != StatusAwaitingPayment)
	if hasPayments && len(payments) == 0 && r.Status != 0 && r.Status != StatusAwaitingPayment {
		o.c.add(o.field("payment_info"), "must not be empty unless order_status is 1110")
	}
	for j, praw := range payments {
		p, ok := asObject(o.c, praw, fmt.Sprintf("%s[%d]", o.field("payment_info"), j))
		if !ok {
			continue
		}
		t := p.id("payment_type", false)
		if r.PaymentType == "" {
			r.PaymentType = t
		}
		p.id("trans_id", false)
		p.yuan("trans_amount", false)
	}

	coupons, _ := o.array("coupon_info", false)
	for j, craw := range coupons {
		if cp, ok := asObject(o.c, craw, fmt.Sprintf("%s[%d]", o.field("coupon_info"), j)); ok {
			r.CouponFen += cp.yuan("coupon_amount_total", false)
		}
	}
	return r
}

func readGoods(g obj, r *store.Order) store.Goods {
	out := store.Goods{
		SKUID:        g.id("external_sku_id", true),
		SKUName:      g.str("sku_name_chinese", true),
		GoodsFen:     g.yuan("goods_amount", true),
		PaymentFen:   g.yuan("payment_amount", true),
		SPUID:        g.id("external_spu_id", true),
		SPUName:      g.str("spu_name_chinese", true),
		Num:          g.integer("goods_num", true, 0, math.MaxInt32),
		Gift:         g.integer("is_gift", false, 0, 1) == 1,
		CategoryID:   g.id("category_id", false),
		CategoryName: g.str("category_name", false),
	}
	g.str("primary_image_url", false)
	g.number("goods_weight", false)
	if st, ok := g.object("store_info", false); ok {
		out.StoreID = st.id("external_store_id", false)
		out.StoreName = st.str("store_name", false)
		st.str("store_city", false)
		if r.StoreID == "" && out.StoreID != "" {
			r.StoreID, r.StoreName = out.StoreID, out.StoreName
		}
	}
	chans, _ := g.array("chan_info", false)
	for k, craw := range chans {
		ch, ok := asObject(g.c, craw, fmt.Sprintf("%s[%d]", g.field("chan_info"), k))
		if !ok {
			continue
		}
		id := ch.str("chan_id", false)
		refer := ch.str("chan_refer_app_id", false)
		// guide_id is not in the spec; some merchants tag their guides so.
		guide := ch.id("guide_id", false)
		var custom string
		if cc, ok := ch.object("chan_custom", false); ok {
			custom = cc.id("chan_custom_id", false)
		}
		var scene int64
		// Clients spell the scene object chan_wxapp or chan_weapp.
		for _, key := range []string{"chan_wxapp", "chan_weapp"} {
			if w, ok := ch.object(key, false); ok {
				if s := w.sceneOf("chan_scene"); s != 0 && scene == 0 {
					scene = s
				}
			}
		}
		if out.ChanID == "" {
			out.ChanID = id
		}
		if out.ChanCustomID == "" {
			out.ChanCustomID = custom
		}
		if r.ChanID == "" && id != "" {
			r.ChanID, r.ChanReferAppID = id, refer
		}
		if r.ChanCustomID == "" {
			r.ChanCustomID = custom
		}
		if r.ChanScene == 0 {
			r.ChanScene = scene
		}
		if r.GuideID == "" {
			r.GuideID = guide
		}
	}
	return out
}

// parseSums reads and checks an add_order_sum body.
func parseSums(body []byte, loc *time.Location) (string, []store.OrderSum, *Error) {
	c, src, items, err := envelope(body, "orders")
	if err != nil {
		return "", nil, err
	}
	sums := make([]store.OrderSum, 0, len(items))
	for i, it := range items {
		o, ok := asObject(c, it.value(), fmt.Sprintf("orders[%d]", i))
		if !ok {
			continue
		}
		raw := it.raw
		sums = append(sums, store.OrderSum{
			Day:          o.day("ref_date", loc),
			GiveOrderFen: o.yuan("give_order_amount_sum", true),
			GiveOrderNum: o.integer("give_order_num_sum", true, 0, math.MaxInt32),
			PaymentFen:   o.yuan("payment_amount_sum", true),
			PayedNum:     o.integer("payed_num_sum", true, 0, math.MaxInt32),
			Raw:          raw,
		})
	}
	if err := c.err(); err != nil {
		return "", nil, err
	}
	return src, sums, nil
}

// MaxPages bounds the page rows of one add_wxapp_visit_page call.
const MaxPages = 100_000

// parsePages reads and checks an add_wxapp_visit_page body: rawMsg is a
// list of WeChat getVisitPage answers.
func parsePages(body []byte, loc *time.Location) (string, int, []store.VisitPage, *Error) {
	c, src, items, err := envelope(body, "rawMsg")
	if err != nil {
		return "", 0, nil, err
	}
	var pages []store.VisitPage
	for i, it := range items {
		rep, ok := asObject(c, it.value(), fmt.Sprintf("rawMsg[%d]", i))
		if !ok {
			continue
		}
		day := rep.day("ref_date", loc)
		list, _ := rep.array("list", true)
		if len(pages)+len(list) > MaxPages {
			return "", 0, nil, refuse(CodeTooMany, nil, "rawMsg: at most %d page rows per call", MaxPages)
		}
		for j, praw := range list {
			p, ok := asObject(c, praw, fmt.Sprintf("%s[%d]", rep.field("list"), j))
			if !ok {
				continue
			}
			path := p.str("page_path", true)
			page, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "?")
			pages = append(pages, store.VisitPage{
				Day: day, PagePath: path, Page: page,
				VisitPV:    p.integer("page_visit_pv", true, 0, math.MaxInt64>>11),
				VisitUV:    p.integer("page_visit_uv", true, 0, math.MaxInt64>>11),
				StayTimePV: p.nonNegative("page_staytime_pv"),
				EntryPV:    p.integer("entrypage_pv", true, 0, math.MaxInt64>>11),
				ExitPV:     p.integer("exitpage_pv", true, 0, math.MaxInt64>>11),
				SharePV:    p.integer("page_share_pv", true, 0, math.MaxInt64>>11),
				ShareUV:    p.integer("page_share_uv", true, 0, math.MaxInt64>>11),
			})
		}
	}
	if err := c.err(); err != nil {
		return "", 0, nil, err
	}
	return src, len(items), pages, nil
}

func (o obj) nonNegative(key string) float64 {
	f, ok := o.number(key, true)
	if ok && f < 0 {
		o.c.add(o.field(key), "must not be negative, got %v", f)
		return 0
	}
	return f
}

type sourceAdd struct {
	id       string
	typ      int64
	merchant string
}

// parseSourceAdd reads {merchantId, dataSourceType[, dataSourceId]}. Newer
// clients send only merchantId (and multi): the type is then 0, main orders.
func parseSourceAdd(body []byte) (sourceAdd, *Error) {
	c, root, err := bodyObject(body)
	if err != nil {
		return sourceAdd{}, err
	}
	r := sourceAdd{
		merchant: root.id("merchantId", false),
		typ:      root.integer("dataSourceType", false, 0, 1000),
		id:       root.id("dataSourceId", false),
	}
	if err := c.err(); err != nil {
		return sourceAdd{}, err
	}
	return r, nil
}

type sourceFilter struct {
	merchant string
	typ      int64
	hasType  bool
}

// parseSourceGet reads merchantId and dataSourceType from the query or,
// for POST, the JSON body.
func parseSourceGet(body []byte, q url.Values) (sourceFilter, *Error) {
	var f sourceFilter
	c := &checker{}
	if len(bytes.TrimSpace(body)) > 0 {
		cc, root, err := bodyObject(body)
		if err != nil {
			return f, err
		}
		c = cc
		f.merchant = root.id("merchantId", false)
		if _, ok := root.m["dataSourceType"]; ok {
			f.typ, f.hasType = root.integer("dataSourceType", false, 0, 1000), true
		}
	}
	if v := q.Get("merchantId"); v != "" && f.merchant == "" {
		f.merchant = v
	}
	if v := q.Get("dataSourceType"); v != "" && !f.hasType {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			c.add("dataSourceType", "must be a non-negative integer, got %q", v)
		}
		f.typ, f.hasType = n, true
	}
	if err := c.err(); err != nil {
		return f, err
	}
	return f, nil
}

// bodyObject reads a body that is a JSON object without an item list.
func bodyObject(body []byte) (*checker, obj, *Error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if !utf8.Valid(body) {
		return nil, obj{}, refuse(CodeBadBody, nil, "body is not valid UTF-8")
	}
	m, ok := decodeItem(body).(map[string]any)
	if !ok {
		return nil, obj{}, refuse(CodeBadBody, nil, "body must be a JSON object")
	}
	c := &checker{}
	return c, obj{c: c, m: m}, nil
}
