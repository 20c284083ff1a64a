package demo

import (
	"math"
	"strconv"
	"time"
)

// The events a session emits, as the SDK and the app code would.

// setChan is what the app code adds to chan and context after launch: the
// bound guide, the shop and the article (spec A.3: context set later still
// reaches every event of the upload).
func (s *session) setChan() {
	if s.guide < 0 && s.u.guide >= 0 {
		s.guide = s.u.guide
	}
	if s.shop < 0 {
		s.shop = s.u.shop
		if s.guide >= 0 {
			s.shop = s.guide % len(shops)
		}
	}
	var b []byte
	if s.guide >= 0 && !s.queryKeys["guide_id"] {
		b = appendKStr(b, "guide_id", guideID(s.guide))
	}
	if s.shop >= 0 {
		b = append(b, shops[s.shop].json...)
		s.storeInfo = shops[s.shop].storeInfo
	}
	if s.article >= 0 {
		b = append(b, articles[s.article].json...)
	}
	s.fixedChan = b
}

// --- events ----------------------------------------------------------------

func (s *session) add(typ string, p *page, title string, auto bool) int {
	pos := int32(len(s.arena))
	s.evs = append(s.evs, ev{typ: typ, t: s.t, page: p.full, title: title, auto: auto, pre: [2]int32{pos, pos}})
	return len(s.evs) - 1
}

// slot ends the props before refer_page.
func (s *session) slot(i int) {
	e := &s.evs[i]
	e.pre[1] = int32(len(s.arena))
	e.post = [2]int32{e.pre[1], e.pre[1]}
	e.referSlot = true
}

// done ends the event and records the context after it.
func (s *session) done(i int) {
	e := &s.evs[i]
	if e.referSlot {
		e.post[1] = int32(len(s.arena))
	} else {
		e.pre[1] = int32(len(s.arena))
	}
	if s.cur != s.ctxs[len(s.ctxs)-1] {
		s.ctxs = append(s.ctxs, s.cur)
	}
	e.ctx = int32(len(s.ctxs) - 1)
}

func (s *session) auto(typ string, p *page) {
	s.done(s.add(typ, p, p.title, true))
}

// wait advances the clock by a log-normal think time around median ms.
func (s *session) wait(median float64) {
	d := median * math.Exp(s.r.NormFloat64()*0.6)
	if d > median*15 {
		d = median * 15
	}
	s.t += int64(d) + 1
}

func (s *session) launch(p *page) {
	s.done(s.add("app_launch", p, AppName, true))
	s.t++
	s.done(s.add("app_show", p, AppName, true))
	s.browse(p)
	s.t += 8 + s.r.Int64N(300)
	i := s.add("sdk_config_info", p, p.title, false)
	s.arena = append(s.arena, `,"_sdk_config_info":{"masterSwitch":true,"isOpenProxyWxApi":false}`...)
	s.done(i)
}

func (s *session) browse(p *page) {
	newly := true
	for _, v := range s.visited {
		if v == p.route {
			newly = false
		}
	}
	if newly {
		s.visited = append(s.visited, p.route)
	}
	if p.kind == pLive {
		s.cur.room = p.room
	}
	p.shown = s.t
	s.exposed = s.exposed[:0]
	i := s.add("browse_wxapp_page", p, p.title, true)
	s.slot(i)
	s.arena = appendKBool(s.arena, "is_newly_open", newly)
	s.done(i)
}

func (s *session) leave(p *page) {
	stay := s.t - p.shown
	if stay > 4*3600_000 {
		stay = 0
	}
	if p.kind == pLive {
		s.cur.component = false // clearComponent
	}
	s.cur.referPage = p.route
	i := s.add("leave_wxapp_page", p, p.title, true)
	s.slot(i)
	s.arena = appendKInt(s.arena, "stay_time", stay)
	s.done(i)
}

func (s *session) exit(p *page) {
	s.leave(p)
	s.auto("exit_wxapp", p)
	s.exited = true
}

// background sends the app to the background and, after a while, back:
// the same process, so the same tracking_id, with the scene of the return.
func (s *session) background(p *page) bool {
	s.exit(p)
	s.wait(120_000)
	s.t += 5000
	if s.t >= s.end {
		return false
	}
	s.exited = false
	switch x := s.r.Float64(); {
	case x < 0.6:
		s.cur.scene = 1089
	case x < 0.85:
		s.cur.scene = 1001
	}
	s.cur.referApp = ""
	s.done(s.add("app_show", p, p.title, true))
	s.browse(p)
	return true
}

func (s *session) element(p *page, is, id string, dataset []byte) {
	i := s.add("element", p, p.title, true)
	b := appendKStr(s.arena, "is", is)
	b = appendKStr(b, "type", "tap")
	b = appendKStr(b, "element_id", id)
	s.arena = append(b, dataset...)
	s.done(i)
}

// skuEvent writes the product props of expose/trigger/browse_sku/add_to_cart.
func (s *session) skuEvent(typ string, p *page, k int, withCat, withShop bool) int {
	i := s.add(typ, p, p.title, false)
	sk := &cat.skus[k]
	b := append(s.arena, sk.skuSPUJSON...)
	if withCat {
		b = append(b, sk.categoryJSON...)
	}
	if withShop && s.shop >= 0 {
		b = append(b, shops[s.shop].shipJSON...)
	}
	s.arena = append(b, sk.saleJSON...)
	return i
}

func (s *session) image(i, k int) {
	s.arena = append(s.arena, cat.skus[k].imageJSON...)
	s.done(i)
}

func (s *session) expose(p *page, k int) {
	i := s.skuEvent("expose_sku_component", p, k, s.r.Float64() < 0.85, true)
	s.image(i, k)
	s.exposed = append(s.exposed, k)
}

func (s *session) exposeList(p *page, c, n int) {
	for range n {
		s.t += 80 + s.r.Int64N(500)
		s.expose(p, s.pickSKU(c))
	}
}

// toDetail taps one of the products shown on the page.
func (s *session) toDetail(p *page) *page {
	k := -1
	if len(s.exposed) > 0 {
		k = s.exposed[s.r.IntN(len(s.exposed))]
	} else {
		k = s.pickSKU(-1)
	}
	s.wait(1500)
	i := s.skuEvent("trigger_sku_component", p, k, false, false)
	s.image(i, k)
	return detailPage(k, "")
}

func (s *session) addToCart(p *page, k int, action string, num int64) {
	i := s.add("add_to_cart", p, p.title, false)
	s.arena = appendKStr(s.arena, "action_type", action)
	sk := &cat.skus[k]
	b := append(s.arena, sk.skuSPUJSON...)
	b = append(b, sk.categoryJSON...)
	if s.shop >= 0 {
		b = append(b, shops[s.shop].shipJSON...)
	}
	b = append(b, sk.saleJSON...)
	s.arena = appendKInt(b, "sku_num", num)
	s.image(i, k)
}

func (s *session) share(p *page) {
	r := s.r
	i := s.add("page_share_app_message", p, p.title, true)
	fromType := "menu"
	if r.Float64() < 0.6 {
		fromType = "button"
	}
	timeline := r.Float64() < 0.2
	mi := hex32(mix(fnv64(s.localID+p.route)), fnv64(p.route+s.localID))
	d, o := 1, mi
	if s.shareDepth > 0 {
		d, o = s.shareDepth, s.shareO
	}
	path := p.full
	if path == p.route {
		path += "?"
	} else {
		path += "&"
	}
	path += "txsrShareInfoSdk=" + shareInfo(mi, d, o)
	title, image := AppName+" 新鲜直达", ""
	if p.kind == pDetail {
		title, image = cat.skus[p.sku].name, cat.skus[p.sku].imageURL
	} else if p.kind == pLive {
		title = liveRooms[p.room].title
	}
	b := appendKStr(s.arena, "from_type", fromType)
	if timeline {
		b = appendKStr(b, "share_to", "timeline")
		_, query, _ := cutQuery(p.full)
		b = appendKStr(b, "query", query)
	} else {
		b = appendKStr(b, "share_to", "friends")
	}
	b = appendKStr(b, "share_path", path)
	b = appendKStr(b, "share_title", title)
	if image != "" && !timeline {
		b = appendKStr(b, "share_image_url", image)
	}
	s.arena = b
	s.slot(i)
	b = append(s.arena, `,"txsr_share_info_sdk":{"mi":`...)
	b = appendStr(b, mi)
	b = appendKInt(b, "d", int64(d))
	b = appendKStr(b, "o", o)
	s.arena = append(b, '}')
	s.done(i)
}

func cutQuery(full string) (route, query string, ok bool) {
	for i := 0; i < len(full); i++ {
		if full[i] == '?' {
			return full[:i], full[i+1:], true
		}
	}
	return full, "", false
}

func (s *session) search(p *page) int {
	r := s.r
	s.wait(3000)
	var word string
	c, spuIdx := -1, -1
	if r.Float64() < 0.65 {
		k := s.pickSKU(-1)
		spuIdx = cat.skus[k].spu
		word, c = cat.spus[spuIdx].keyword, cat.spus[spuIdx].cat
	} else {
		gk := genericKeywords[r.IntN(len(genericKeywords))]
		word, c = gk.word, gk.cat
	}
	i := s.add("search", p, p.title, false)
	s.arena = appendKStr(s.arena, "keyword", word)
	s.done(i)
	if c < 0 {
		return 0
	}
	n := 2 + r.IntN(4)
	s.wait(800)
	if spuIdx >= 0 {
		for vi := range cat.spus[spuIdx].skus {
			s.t += 60 + r.Int64N(200)
			s.expose(p, s.skuIndex(spuIdx, vi))
			n--
		}
	}
	s.exposeList(p, c, max(n, 1))
	return len(s.exposed)
}

func (s *session) skuIndex(spuIdx, variant int) int { return cat.spus[spuIdx].first + variant }

// pickSKU picks a product by popularity, within category c if c >= 0.
func (s *session) pickSKU(c int) int {
	x := s.r.Float64()
	if c < 0 {
		return searchCum(cat.skuCum, x)
	}
	return cat.byCat[c][searchCum(cat.catCum[c], x)]
}

func searchCum(cum []float64, x float64) int {
	x *= cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cum[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// --- orders ------------------------------------------------------------------

func (s *session) newOrder(items []cartItem, fromCart bool) *order {
	g := s.g
	g.orders++
	o := &order{ms: s.t, serial: g.orders, fromCart: fromCart}
	for _, it := range items {
		o.amt += cat.skus[it.sku].priceFen * it.num
	}
	o.pay = o.amt
	if s.r.Float64() < 0.3 {
		c := couponsFen[s.r.IntN(len(couponsFen))]
		if o.amt > 3*c {
			o.pay = o.amt - c
		}
	}
	o.id = g.orderID(o.serial, o.ms)
	if g.kept != nil {
		k := &keptOrder{id: o.id, serial: o.serial, createMS: o.ms, items: append([]cartItem(nil), items...),
			amt: o.amt, pay: o.pay, shop: s.shop, guide: s.guide, scene: s.cur.scene, user: s.u}
		g.kept[o.serial] = k
		g.keptOrder = append(g.keptOrder, k)
	}
	return o
}

// keep records a later moment of a kept order (paid, refunded,
// cancelled) for the demo's backend.
func (g *Generator) keep(serial int64, f func(k *keptOrder)) {
	if k := g.kept[serial]; k != nil {
		f(k)
	}
}

// orderID looks like the merchant's: SO + local order date + serial.
func (g *Generator) orderID(serial, ms int64) string {
	d := time.UnixMilli(ms).In(g.loc)
	b := make([]byte, 0, 20)
	b = append(b, "SO"...)
	b = d.AppendFormat(b, "20060102")
	n := strconv.FormatInt(serial, 10)
	for i := len(n); i < 8; i++ {
		b = append(b, '0')
	}
	return string(append(b, n...))
}

func (s *session) orderEvent(p *page, o *order, status, timeKey string, flag uint8) {
	i := s.add("custom_order", p, p.title, false)
	b := append(s.arena, `,"order":{"order_id":`...)
	b = appendStr(b, o.id)
	b = appendKInt(b, "order_time", o.ms)
	if timeKey != "" {
		b = appendKInt(b, timeKey, s.t)
	}
	b = appendKStr(b, "order_status", status)
	b = append(b, `},"sub_orders":[{"sub_order_id":`...)
	b = appendStr(b, o.id)
	b = appendKYuan(b, "order_amt", o.amt)
	b = appendKYuan(b, "pay_amt", o.pay)
	s.arena = append(b, "}]"...)
	s.evs[i].flag = flag
	s.done(i)
}

func (s *session) payed(p *page, o *order) *page {
	s.wait(6000)
	s.orderEvent(p, o, "payed", "pay_time", flagOrderPaid)
	s.g.keep(o.serial, func(k *keptOrder) { k.payMS = s.t })
	if o.fromCart {
		s.cart = s.cart[:0]
	}
	s.paid = o
	s.st.paid = paidOrder{serial: o.serial, ms: o.ms, amt: o.amt, pay: o.pay}
	rp := newPage(pResult, "pages/order/result", "支付结果", "order_id="+o.id)
	rp.order = o
	return rp
}

// --- pages -------------------------------------------------------------------
