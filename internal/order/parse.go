package order

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
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
