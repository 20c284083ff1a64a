package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	dataapi "github.com/shuyuan-dev/shuyuan/internal/order"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// The demo's merchant backend: what a shop's own systems send through the
// data-api beside the SDK traffic. Its figures disagree with the SDK's the
// way real ones do, so that the reconciliation, orders, pages and SKU pages
// have something to show:
//
//   - Orders: most SDK orders are reported by the backend too (same id; the
//     backend's figures win); about one in seven is only the SDK's (the
//     backend's call for it "failed"); a few a day are only the backend's
//     (the SDK's upload was lost). Anonymous visitors' orders are never
//     reported: a backend order of the mini-program names its buyer.
//   - Daily sums (add_order_sum): the backend's own totals of the days
//     before today; the day before yesterday deliberately counts one more
//     paid order (an offline sale), so reconciliation shows a difference.
//   - WeChat's visit-page report (add_wxapp_visit_page): the SDK's page
//     views plus the few percent WeChat counts and the SDK misses, and an
//     H5 activity page that has no SDK at all.

// BackendStore is where the demo's backend data goes: the store's data-api
// side (store.OrderStore).
type BackendStore interface {
	AddOrders(ctx context.Context, batches []*store.OrderBatch) ([]store.OrderResult, error)
	AddOrderSums(ctx context.Context, appID string, sums []store.OrderSum, receivedAt time.Time, relay ...store.Relay) error
	AddVisitPages(ctx context.Context, appID string, pages []store.VisitPage, receivedAt time.Time, relay ...store.Relay) error
}

// BackendStats count what the demo's backend sent.
type BackendStats struct {
	Orders      int // orders reported
	OnlyBackend int // of which the SDK never reported
	OnlySDK     int // SDK orders the backend did not report
	SumDays     int
	PageRows    int
}

// keptOrder is an order the generator placed, kept for the backend.
type keptOrder struct {
	id                 string
	serial             int64
	createMS, payMS    int64
	refundMS, cancelMS int64
	items              []cartItem
	amt, pay           int64
	shop, guide, scene int
	user               userAttr
}

// webviewPage is a page of the mini-program without the SDK: only WeChat's
// report knows it.
const webviewPage = "pages/activity/h5"

// pageObserver counts, from the stored events, what WeChat's visit-page
// report derives from the same visits.
type pageObserver struct {
	mu    sync.Mutex
	loc   *time.Location
	pages map[dayPage]*pageCount
	// first and last page view of each session, for entries and exits.
	ends map[string]*sessionEnds
}

type dayPage struct{ day, page string }

type pageCount struct {
	pv, leaves, stayMS, shares int64
	users, sharers             map[string]bool
	entries, exits             int64
}

type sessionEnds struct {
	firstT, lastT       time.Time
	firstDay, lastDay   string
	firstPage, lastPage string
}

func newPageObserver(loc *time.Location) *pageObserver {
	return &pageObserver{loc: loc, pages: map[dayPage]*pageCount{}, ends: map[string]*sessionEnds{}}
}

func (o *pageObserver) count(day, page string) *pageCount {
	k := dayPage{day, page}
	c := o.pages[k]
	if c == nil {
		c = &pageCount{users: map[string]bool{}, sharers: map[string]bool{}}
		o.pages[k] = c
	}
	return c
}

func (o *pageObserver) observe(evs []event.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range evs {
		e := &evs[i]
		day := e.Time.In(o.loc).Format(time.DateOnly)
		switch e.Type {
		case event.BrowseWxappPage:
			c := o.count(day, e.Page)
			c.pv++
			c.users[e.UserKey] = true
			s := o.ends[e.TrackingID]
			if s == nil {
				s = &sessionEnds{firstT: e.Time, firstDay: day, firstPage: e.Page}
				o.ends[e.TrackingID] = s
			}
			if e.Time.Before(s.firstT) {
				s.firstT, s.firstDay, s.firstPage = e.Time, day, e.Page
			}
			if !e.Time.Before(s.lastT) {
				s.lastT, s.lastDay, s.lastPage = e.Time, day, e.Page
			}
		case event.LeaveWxappPage:
			c := o.count(day, e.Page)
			c.leaves++
			c.stayMS += e.StayMS
		case event.PageShareAppMessage:
			c := o.count(day, e.Page)
			c.shares++
			c.sharers[e.UserKey] = true
		}
	}
}

// visitPages is WeChat's report for the days before today's: the SDK's
// figures plus what WeChat also counts.
func (o *pageObserver) visitPages(seed uint64, today string) []store.VisitPage {
	for _, s := range o.ends {
		o.count(s.firstDay, s.firstPage).entries++
		o.count(s.lastDay, s.lastPage).exits++
	}
	var out []store.VisitPage
	dayTotals := map[string]int64{}
	keys := make([]dayPage, 0, len(o.pages))
	for k := range o.pages {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b dayPage) int {
		if a.day != b.day {
			return compareStr(a.day, b.day)
		}
		return compareStr(a.page, b.page)
	})
	for _, k := range keys {
		c := o.pages[k]
		if k.day >= today || c.pv == 0 {
			continue
		}
		// WeChat counts 2–8 % more: views whose SDK upload never arrived.
		f := 1.02 + 0.06*unit(mix(seed^fnv64(k.day+k.page)))
		up := func(n int64) int64 { return int64(math.Round(float64(n) * f)) }
		stay := 0.0
		if c.leaves > 0 {
			stay = math.Round(float64(c.stayMS)/float64(c.leaves)/10) / 100 // seconds per visit, 2 decimals
		}
		day, _ := time.Parse(time.DateOnly, k.day)
		out = append(out, store.VisitPage{
			Day: day, PagePath: k.page, Page: k.page,
			VisitPV: up(c.pv), VisitUV: up(int64(len(c.users))), StayTimePV: stay,
			EntryPV: up(c.entries), ExitPV: up(c.exits), SharePV: c.shares, ShareUV: int64(len(c.sharers)),
		})
		dayTotals[k.day] += c.pv
	}
	for day, total := range dayTotals {
		d, _ := time.Parse(time.DateOnly, day)
		pv := max(1, total*3/100)
		out = append(out, store.VisitPage{
			Day: d, PagePath: webviewPage, Page: webviewPage,
			VisitPV: pv, VisitUV: max(1, pv*7/10), StayTimePV: 41.5, EntryPV: pv / 2, ExitPV: pv / 3,
		})
	}
	return out
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sendBackend plays the merchant's backend for the generated orders and
// the observed page views.
func sendBackend(ctx context.Context, st BackendStore, app *tenant.App, g *Generator, obs *pageObserver, now time.Time) (BackendStats, error) {
	var bs BackendStats
	loc := g.loc
	today := g.opt.End.In(loc).Format(time.DateOnly)
	var orders []*keptOrder
	for _, k := range g.keptOrder {
		if k.user.anonymous {
			continue
		}
		if unit(mix(g.seed^uint64(k.serial)*0x2545f4914f6cdd1d)) < 0.14 {
			bs.OnlySDK++
			continue
		}
		orders = append(orders, k)
	}
	extra := g.backendOnly()
	bs.OnlyBackend = len(extra)
	orders = append(orders, extra...)
	bs.Orders = len(orders)

	// A snapshot per status change, each batch after the one before, as a
	// backend that calls add_order at every change would have.
	var created, paid, completed, cancelled, refunded []store.Order
	for _, k := range orders {
		created = append(created, g.backendOrder(app, k, dataapi.StatusAwaitingPayment, k.createMS))
		switch {
		case k.payMS > 0:
			// The payment callback reaches the backend a few seconds
			// after the SDK's payed event.
			pay := k.payMS + 1000 + int64(k.serial%9)*1000
			paid = append(paid, g.backendOrder(app, k, dataapi.StatusPaid, pay))
			if k.refundMS > 0 {
				refunded = append(refunded, g.backendOrder(app, k, dataapi.StatusRefunded, k.refundMS))
			} else if done := pay + 2*86_400_000; done < g.endMS {
				completed = append(completed, g.backendOrder(app, k, dataapi.StatusCompleted, done))
			}
		case k.cancelMS > 0:
			cancelled = append(cancelled, g.backendOrder(app, k, dataapi.StatusCancelled, k.cancelMS))
		}
	}
	var batches []*store.OrderBatch
	for _, list := range [][]store.Order{created, paid, cancelled, completed, refunded} {
		if len(list) > 0 {
			batches = append(batches, &store.OrderBatch{AppID: app.ID, ReceivedAt: now, Orders: list})
		}
	}
	if len(batches) > 0 {
		if _, err := st.AddOrders(ctx, batches); err != nil {
			return bs, fmt.Errorf("demo backend orders: %w", err)
		}
	}

	sums := g.orderSums(orders, today)
	bs.SumDays = len(sums)
	if len(sums) > 0 {
		if err := st.AddOrderSums(ctx, app.ID, sums, now); err != nil {
			return bs, fmt.Errorf("demo backend order sums: %w", err)
		}
	}
	pages := obs.visitPages(g.seed, today)
	bs.PageRows = len(pages)
	if len(pages) > 0 {
		if err := st.AddVisitPages(ctx, app.ID, pages, now); err != nil {
			return bs, fmt.Errorf("demo backend visit pages: %w", err)
		}
	}
	return bs, nil
}

// backendOnly are orders the SDK never reported: one to three a day, by
// customers who ordered through the mini-program that day, of one or two
// products, paid a minute later.
func (g *Generator) backendOnly() []*keptOrder {
	var out []*keptOrder
	byDay := map[int][]*keptOrder{}
	for _, k := range g.keptOrder {
		if !k.user.anonymous && k.payMS > 0 {
			d := g.dayOf(k.createMS)
			byDay[d] = append(byDay[d], k)
		}
	}
	for d := range g.opt.Days {
		list := byDay[d]
		if len(list) == 0 {
			continue
		}
		h := mix(g.seed ^ uint64(d+1)*0x51ed2701)
		n := 1 + int(h%3)
		for i := range n {
			h = mix(h + uint64(i))
			base := list[h%uint64(len(list))]
			ms := base.createMS + 3_600_000 + int64(h%7_200_000)
			if ms >= g.endMS-60_000 {
				continue
			}
			serial := 90_000_000 + int64(d)*10 + int64(i)
			items := []cartItem{{sku: int(h>>8) % len(cat.skus), num: 1 + int64(h>>20)%2}}
			k := &keptOrder{id: g.orderID(serial, ms), serial: serial, createMS: ms, payMS: ms + 60_000,
				items: items, shop: base.shop, guide: base.guide, scene: base.scene, user: base.user}
			for _, it := range items {
				k.amt += cat.skus[it.sku].priceFen * it.num
			}
			k.pay = k.amt
			out = append(out, k)
		}
	}
	return out
}

// backendOrder is the order as the backend reports it in status at ms.
func (g *Generator) backendOrder(app *tenant.App, k *keptOrder, status, ms int64) store.Order {
	t := time.UnixMilli(ms).UTC()
	o := store.Order{
		ExternalID: k.id, CreateTime: time.UnixMilli(k.createMS).UTC(), Source: "wxapp",
		OrderFen: k.amt, PayableFen: k.pay, PaymentFen: k.pay, GoodsFen: k.amt,
		Status: status, StatusTime: t,
		OpenID: wxID(k.user.h ^ 0x0be1d), WxAppID: g.wxAppID, ChanScene: int64(k.scene),
		PaymentType: "00009",
	}
	if dataapi.Paid(status) {
		o.PaidTime = t
	}
	if k.user.union {
		o.UnionID = wxID(k.user.h ^ 0x417e0)
	}
	if k.shop >= 0 {
		o.StoreID, o.StoreName = shops[k.shop].id, shops[k.shop].name
	}
	if k.guide >= 0 {
		o.GuideID = guideID(k.guide)
	}
	if c := k.amt - k.pay; c > 0 {
		o.CouponFen = c
	}
	// The coupon comes off the first line.
	left := k.pay
	for i, it := range k.items {
		sk := cat.skus[it.sku]
		sp := cat.spus[sk.spu]
		line := sk.priceFen * it.num
		if i == len(k.items)-1 {
			line = left
		} else {
			line = min(line, left)
		}
		left -= line
		o.GoodsNumTotal += it.num
		o.Goods = append(o.Goods, store.Goods{
			SKUID: sk.id, SKUName: sk.name, SPUID: sp.id, SPUName: sp.name, GoodsFen: sk.priceFen,
			PaymentFen: line, Num: it.num, CategoryID: categories[sp.cat].id, CategoryName: categories[sp.cat].name,
			StoreID: o.StoreID, StoreName: o.StoreName,
		})
	}
	o.Raw = rawOrder(o)
	return o
}

// rawOrder is the add_order item the backend would have sent.
func rawOrder(o store.Order) json.RawMessage {
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	yuan := func(f int64) string { return strconv.FormatFloat(float64(f)/100, 'f', 2, 64) }
	var goods []map[string]any
	for _, g := range o.Goods {
		goods = append(goods, map[string]any{
			"external_sku_id": g.SKUID, "sku_name_chinese": g.SKUName, "external_spu_id": g.SPUID,
			"spu_name_chinese": g.SPUName, "goods_amount": yuan(g.GoodsFen), "payment_amount": yuan(g.PaymentFen),
			"goods_num": g.Num, "is_gift": 0,
		})
	}
	m := map[string]any{
		"external_order_id": o.ExternalID, "create_time": ms(o.CreateTime), "order_source": o.Source,
		"order_type": 1, "goods_num_total": o.GoodsNumTotal, "goods_amount_total": yuan(o.GoodsFen),
		"freight_amount": "0.00", "order_amount": yuan(o.OrderFen), "payable_amount": yuan(o.PayableFen),
		"payment_amount": yuan(o.PaymentFen), "order_status": strconv.FormatInt(o.Status, 10),
		"status_change_time": ms(o.StatusTime), "goods_info": goods,
		"user_info": map[string]any{"open_id": o.OpenID, "union_id": o.UnionID, "app_id": o.WxAppID},
	}
	if o.StoreID != "" {
		m["store_info"] = map[string]any{"external_store_id": o.StoreID, "store_name": o.StoreName}
	}
	b, err := json.Marshal(m)
	if err != nil { // maps of strings and numbers always marshal
		return nil
	}
	return b
}

// orderSums are the backend's daily totals of the days before today; the
// day before yesterday counts an offline sale the orders do not have.
func (g *Generator) orderSums(orders []*keptOrder, today string) []store.OrderSum {
	type sum struct{ orders, orderFen, paid, paidFen int64 }
	days := map[string]*sum{}
	at := func(ms int64) *sum {
		d := time.UnixMilli(ms).In(g.loc).Format(time.DateOnly)
		if days[d] == nil {
			days[d] = &sum{}
		}
		return days[d]
	}
	for _, k := range orders {
		s := at(k.createMS)
		s.orders++
		s.orderFen += k.amt
		if k.payMS > 0 {
			p := at(k.payMS + 1000 + (k.serial%9)*1000)
			p.paid++
			p.paidFen += k.pay
		}
	}
	off := g.opt.End.In(g.loc).AddDate(0, 0, -2).Format(time.DateOnly)
	var out []store.OrderSum
	for d := range g.opt.Days {
		day := time.UnixMilli(g.midnights[d]).In(g.loc).Format(time.DateOnly)
		if day >= today {
			continue
		}
		s := days[day]
		if s == nil {
			s = &sum{}
		}
		if day == off {
			s.paid++
			s.paidFen += 8800
		}
		ref, _ := time.Parse(time.DateOnly, day)
		raw, _ := json.Marshal(map[string]any{
			"ref_date": day, "give_order_num_sum": s.orders, "give_order_amount_sum": float64(s.orderFen) / 100,
			"payed_num_sum": s.paid, "payment_amount_sum": float64(s.paidFen) / 100,
		})
		out = append(out, store.OrderSum{Day: ref, GiveOrderNum: s.orders, GiveOrderFen: s.orderFen,
			PayedNum: s.paid, PaymentFen: s.paidFen, Raw: raw})
	}
	return out
}
