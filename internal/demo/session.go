package demo

import (
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"
)

// A session is one cold start of the mini-program (one tracking_id): it is
// simulated in full when it starts, then handed out upload by upload as the
// SDK would have flushed them.

type pageKind uint8

const (
	pHome pageKind = iota
	pCategory
	pList
	pSearch
	pDetail
	pCart
	pConfirm
	pResult
	pOrders
	pMember
	pLive
)

type page struct {
	kind  pageKind
	route string // without query: what refer_page and is_newly_open use
	full  string // route?query: what props.page carries
	title string
	sku   int // detail
	cat   int // list
	room  int // live
	items []cartItem
	from  string // confirm: cart or detail
	order *order // result
	shown int64
}

func newPage(kind pageKind, route, title, query string) *page {
	p := &page{kind: kind, route: route, full: route, title: title}
	if query != "" {
		p.full = route + "?" + query
	}
	return p
}

func homePage(q string) *page { return newPage(pHome, "pages/index/index", "首页", q) }
func searchPage() *page       { return newPage(pSearch, "pages/search/index", "搜索", "") }
func categoryPage() *page     { return newPage(pCategory, "pages/category/index", "分类", "") }
func cartPage() *page         { return newPage(pCart, "pages/cart/index", "购物车", "") }
func ordersPage() *page       { return newPage(pOrders, "pages/order/list", "我的订单", "") }
func memberPage() *page       { return newPage(pMember, "pages/member/index", "我的", "") }
func listPage(c int) *page {
	p := newPage(pList, "pages/goods/list", "商品列表", "cat_id="+categories[c].id)
	p.cat = c
	return p
}
func livePage(room, q string) *page {
	return newPage(pLive, "pages/live/room", "直播间", "room_id="+room+q)
}

func detailPage(k int, extra string) *page {
	p := newPage(pDetail, "pages/goods/detail", "商品详情", "sku_id="+cat.skus[k].id+extra)
	p.sku = k
	return p
}

// Event flags the generator counts when the event is emitted.
const (
	flagNone uint8 = iota
	flagOrderNew
	flagOrderPaid
)

// ev is one tracked event. Its own props are two fragments in the session's
// arena: the part before refer_page and the part after it (the SDK keeps
// refer_page where the behaviour put it, with the context's value).
type ev struct {
	typ       string
	t         int64
	page      string
	title     string
	auto      bool
	referSlot bool
	flag      uint8
	ctx       int32 // the SDK context right after this event
	pre, post [2]int32
}

// ctxState is the part of the SDK context that changes within a session.
type ctxState struct {
	scene     int
	referApp  string
	room      int // chan.room_id set by visiting a live room; -1 none
	component bool
	referPage string
}

type batch struct {
	from, to int
	flushMS  int64
}

type cartItem struct {
	sku int
	num int64
}

type order struct {
	id       string
	ms       int64
	amt, pay int64
	serial   int64
	fromCart bool
}

type session struct {
	g      *Generator
	r      *rand.Rand
	serial int64
	u      userAttr
	st     *userState
	start  int64
	end    int64
	t      int64
	first  bool
	source int
	buy    float64

	tracking   string
	localID    string
	wxUser     []byte // ,"wx_user":{...}
	identUser  string // user half of idenTifier
	sdkVer     string
	scene      int
	referApp   string
	queryChan  []byte // launch query keys, spread into chan by the SDK
	queryKeys  map[string]bool
	fixedChan  []byte // setChan: guide, shop, chan_custom
	persistVid string
	shop       int
	guide      int
	article    int
	storeInfo  []byte
	shareDepth int
	shareO     string

	arena   []byte
	evs     []ev
	ctxs    []ctxState
	cur     ctxState
	visited []string
	exposed []int
	cart    []cartItem
	unpaid  *order
	paid    *order
	exited  bool
	batches []batch
	bi      int
}

func (s *session) flushMS() int64 { return s.batches[s.bi].flushMS }

// startSession simulates one session; nil if it produced no event before
// End.
func (g *Generator) startSession(st sessionStart) *session {
	g.serial++
	s := &session{g: g, serial: g.serial, start: st.ms, end: g.endMS, shop: -1, guide: -1, article: -1}
	s.r = rand.New(rand.NewPCG(g.seed, uint64(g.serial)))
	s.u = g.userAttr(int(st.user))
	s.st = &g.users[st.user]
	s.first = !s.st.seen
	s.run()
	if len(s.evs) == 0 {
		return nil
	}
	if !s.st.seen {
		s.st.seen = true
		g.stats.Users++
	}
	g.stats.Sessions++
	s.plan(g.opt.BatchEvents)
	return s
}

func (s *session) run() {
	r := s.r
	s.source = pickW(returnSourceW[:], r.Float64())
	if s.first {
		s.source = s.u.source
	}
	s.buy = s.u.buyer * [numSources]float64{1, 1.1, 1, 1, 1.3, 1, 1.15, 1.25, 0.9}[s.source]
	if s.first {
		s.buy *= 0.8
	}
	s.identity()
	s.queryKeys = map[string]bool{}
	land := s.landing()
	s.setChan()
	s.cur = ctxState{scene: s.scene, referApp: s.referApp, room: -1}
	s.ctxs = append(s.ctxs, s.cur)
	s.t = s.start
	s.launch(land)
	cur := land
	for n := 0; n < 40 && s.t < s.end; n++ {
		next := s.onPage(cur)
		if next == nil || s.t >= s.end {
			break
		}
		s.leave(cur)
		s.t += r.Int64N(2)
		s.browse(next)
		cur = next
		if r.Float64() < 0.05 && !s.background(cur) {
			break
		}
	}
	if !s.exited {
		s.exit(cur)
	}
	// Nothing after End: a session still going on is cut there.
	for i, e := range s.evs {
		if e.t > s.end {
			s.evs = s.evs[:i]
			break
		}
	}
}

// identity sets the session's wx_user: a fresh local_id per cold start
// (the SDK wipes its cache once setUser ran, spec A.9) except for users who
// never get an open_id, whose local_id persists.
func (s *session) identity() {
	r, u, g := s.r, s.u, s.g
	s.sdkVer = "1.10.1"
	if u.sdk2 {
		s.sdkVer = "2.1.1"
	}
	s.tracking = sdkID(s.start, r.Uint64(), r.Uint64())
	if u.anonymous {
		born := g.midnights[0] - int64(u.h%(90*86400_000))
		s.localID = sdkID(born, mix(u.h^0x10ca1), mix(u.h^0x1d))
	} else {
		s.localID = sdkID(s.start-2-r.Int64N(3), r.Uint64(), r.Uint64())
	}
	b := append([]byte(nil), `,"wx_user":{"local_id":`...)
	b = appendStr(b, s.localID)
	b = appendKStr(b, "app_id", g.wxAppID)
	s.identUser = "1---1"
	if !u.anonymous {
		b = appendKStr(b, "open_id", wxID(u.h^0x0be1d))
		if u.union {
			b = appendKStr(b, "union_id", wxID(u.h^0x417e0))
		}
		if u.member {
			b = appendKStr(b, "user_id", "U"+strconv.FormatUint(100000000000+u.h%900000000000, 10))
		}
		// The SDK's user half is buggy (spec A.8): only the last key the
		// app set with setUser keeps its mark ('0'): union_id when there
		// is one, else open_id.
		s.identUser = "10--1"
		if u.union {
			s.identUser = "1--01"
		}
	}
	s.wxUser = append(b, '}')
}

type kv struct{ k, v string }

// landing picks where the session enters, its scene and the launch query
// (whose keys the SDK copies into chan).
func (s *session) landing() *page {
	r, g := s.r, s.g
	var q []kv
	var p *page
	switch s.source {
	case srcDirect, srcSearch:
		scenes := []int{1001, 1089, 1104, 1023, 1131, 1103}
		if s.source == srcSearch {
			scenes = []int{1005, 1006, 1053, 1027}
		}
		s.scene = scenes[r.IntN(len(scenes))]
		switch x := r.Float64(); {
		case x < 0.82:
			p = homePage("")
		case x < 0.92:
			p = categoryPage()
		case x < 0.96:
			p = memberPage()
		default:
			p = cartPage()
		}
	case srcShare:
		timeline := r.Float64() < 0.25
		s.scene = []int{1007, 1008, 1044}[r.IntN(3)]
		if timeline {
			s.scene = 1154
		}
		depth := 1
		if r.Float64() < 0.2 {
			depth = 2
		}
		mi := hex32(r.Uint64(), r.Uint64())
		origin := mi
		if depth > 1 {
			origin = hex32(r.Uint64(), r.Uint64())
		}
		s.shareDepth, s.shareO = depth+1, origin
		info := shareInfo(mi, depth, origin)
		if r.Float64() < 0.7 {
			k := s.pickSKU(-1)
			q = []kv{{"sku_id", cat.skus[k].id}, {"txsrShareInfoSdk", info}}
			p = detailPage(k, "&txsrShareInfoSdk="+info)
		} else {
			q = []kv{{"from", "share"}, {"txsrShareInfoSdk", info}}
			p = homePage("from=share&txsrShareInfoSdk=" + info)
		}
	case srcQR:
		s.scene = []int{1011, 1047, 1048, 1012}[r.IntN(4)]
		s.shop = s.u.shop
		if s.shop < 0 {
			s.shop = r.IntN(len(shops))
		}
		chanID := []string{"poster_0618", "poster_member_day", "ground_push_03", "table_card_01"}[r.IntN(4)]
		q = []kv{{"chan_id", chanID}, {"shop_id", shops[s.shop].id}}
		p = homePage("chan_id=" + chanID + "&shop_id=" + shops[s.shop].id)
	case srcGuide:
		s.guide = s.u.guide
		if s.guide < 0 {
			s.guide = r.IntN(numGuides)
		}
		s.shop = s.guide % len(shops)
		s.scene, q = 1047, []kv{{"chan_id", "guide_qr_01"}, {"guide_id", guideID(s.guide)}}
		if r.Float64() < 0.3 {
			s.scene, q[0].v = 1007, "guide_share_01"
		}
		p = homePage("chan_id=" + q[0].v + "&guide_id=" + q[1].v)
	case srcOA:
		s.scene = []int{1058, 1035, 1043, 1074, 1082}[r.IntN(5)]
		s.article = r.IntN(len(articles))
		q = []kv{{"chan_id", "mp_article_01"}, {"article_id", articles[s.article].id}}
		extra := "chan_id=mp_article_01&article_id=" + articles[s.article].id
		if r.Float64() < 0.6 {
			k := s.pickSKU(-1)
			q = append([]kv{{"sku_id", cat.skus[k].id}}, q...)
			p = detailPage(k, "&"+extra)
		} else {
			p = homePage(extra)
		}
	case srcAd:
		c := adCampaigns[pickW(adWeights, r.Float64())]
		vid := g.clickID(s.serial)
		info := c.aid + "." + vid + ".0.0"
		s.scene = c.scene
		q = []kv{{"gdt_vid", vid}, {"weixinadinfo", info}, {"chan_id", c.chanID}}
		extra := "gdt_vid=" + vid + "&weixinadinfo=" + info + "&chan_id=" + c.chanID
		if r.Float64() < 0.6 {
			k := s.pickSKU(-1)
			q = append([]kv{{"sku_id", cat.skus[k].id}}, q...)
			p = detailPage(k, "&"+extra)
		} else {
			p = homePage(extra)
		}
		s.st.adSerial = s.serial + 1
	case srcLive:
		s.scene = []int{1176, 1177}[r.IntN(2)]
		room := r.IntN(len(liveRooms))
		q = []kv{{"room_id", liveRooms[room].id}}
		p = livePage(liveRooms[room].id, "")
		p.room = room
	case srcPartner:
		pa := partnerApps[r.IntN(len(partnerApps))]
		s.scene, s.referApp = 1037, pa.appID
		q = []kv{{"chan_id", pa.chanID}}
		p = homePage("chan_id=" + pa.chanID)
	}
	for _, x := range q {
		s.queryChan = appendKStr(s.queryChan, x.k, x.v)
		s.queryKeys[x.k] = true
	}
	// SDK 2.x re-attaches the user's last ad click id on every later start
	// (spec A.9), which is what lets orders days later be attributed.
	if s.u.sdk2 && s.st.adSerial > 0 && !s.queryKeys["gdt_vid"] {
		s.persistVid = g.clickID(s.st.adSerial - 1)
	}
	return p
}

var adWeights = func() []float64 {
	w := make([]float64, len(adCampaigns))
	for i, c := range adCampaigns {
		w[i] = c.weight
	}
	return w
}()

// clickID is the gdt_vid of the ad click that started session serial.
func (g *Generator) clickID(serial int64) string {
	return gdtVid(g.seed ^ uint64(serial)*0x9e3779b97f4a7c15)
}

func shareInfo(mi string, depth int, origin string) string {
	return url.QueryEscape(`{"mi":"` + mi + `","d":` + strconv.Itoa(depth) + `,"o":"` + origin + `"}`)
}

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

// choose picks an index by weight.
func (s *session) choose(w ...float64) int { return pickW(w, s.r.Float64()) }

// onPage plays what a user does on p and returns the next page, nil to
// leave the mini-program.
func (s *session) onPage(p *page) *page {
	r := s.r
	switch p.kind {
	case pHome:
		s.wait(1200)
		s.exposeList(p, -1, 3+r.IntN(3))
		if r.Float64() < 0.10 {
			s.wait(2500)
			s.auto("page_pull_down_refresh", p)
			s.exposeList(p, -1, 2+r.IntN(3))
		}
		if r.Float64() < 0.35 {
			s.wait(3500)
			s.auto("page_reach_bottom", p)
			s.exposeList(p, -1, 3+r.IntN(3))
		}
		if r.Float64() < 0.2 {
			s.wait(2000)
			bi := r.IntN(len(banners))
			ds := appendKStr(nil, "banner_id", banners[bi])
			ds = appendKInt(ds, "position", int64(bi+1))
			s.element(p, "", "#onTapBanner", ds)
			if bi == len(banners)-1 {
				room := r.IntN(len(liveRooms))
				lp := livePage(liveRooms[room].id, "")
				lp.room = room
				return lp
			}
			return listPage(bi % len(categories))
		}
		s.wait(3000)
		cartW := 2.0
		if len(s.cart) > 0 {
			cartW = 12
		}
		switch s.choose(36, 18, 14, 4, 5, cartW, 16) {
		case 0:
			return s.toDetail(p)
		case 1:
			return searchPage()
		case 2:
			return categoryPage()
		case 3:
			room := r.IntN(len(liveRooms))
			lp := livePage(liveRooms[room].id, "")
			lp.room = room
			return lp
		case 4:
			return memberPage()
		case 5:
			return cartPage()
		}
		return nil

	case pCategory:
		s.wait(2500)
		c := r.IntN(len(categories))
		s.element(p, "components/category-nav/index", "#onTapCategory", appendKStr(nil, "cat_id", categories[c].id))
		if r.Float64() < 0.85 {
			return listPage(c)
		}
		return nil

	case pList:
		s.wait(1000)
		s.exposeList(p, p.cat, 4+r.IntN(4))
		if r.Float64() < 0.4 {
			s.wait(4000)
			s.auto("page_reach_bottom", p)
			s.exposeList(p, p.cat, 3+r.IntN(3))
		}
		if r.Float64() < 0.05 {
			s.wait(2000)
			s.auto("page_pull_down_refresh", p)
			s.exposeList(p, p.cat, 3+r.IntN(3))
		}
		switch s.choose(60, 10, 8, 22) {
		case 0:
			return s.toDetail(p)
		case 1:
			return homePage("")
		case 2:
			return searchPage()
		}
		return nil

	case pSearch:
		found := s.search(p)
		if r.Float64() < 0.2 {
			found = s.search(p)
		}
		if found > 0 {
			switch s.choose(62, 12, 26) {
			case 0:
				return s.toDetail(p)
			case 1:
				return homePage("")
			}
			return nil
		}
		if r.Float64() < 0.4 {
			return homePage("")
		}
		return nil

	case pDetail:
		k := p.sku
		s.wait(300)
		i := s.skuEvent("browse_sku_page", p, k, true, false)
		s.image(i, k)
		s.wait(4000)
		s.exposeList(p, cat.spus[cat.skus[k].spu].cat, 1+r.IntN(3))
		if r.Float64() < 0.06 {
			s.wait(3000)
			s.share(p)
		}
		added := false
		switch x := r.Float64(); {
		case x < 0.24*s.buy:
			s.wait(3000)
			num := int64(1)
			if r.Float64() < 0.25 {
				num = 2 + r.Int64N(2)
			}
			s.addToCart(p, k, "append_to_cart", num)
			s.cart = append(s.cart, cartItem{k, num})
			added = true
		case x < 0.29*s.buy:
			s.wait(3000)
			cp := newPage(pConfirm, "pages/order/confirm", "确认订单", "from=detail")
			cp.items, cp.from = []cartItem{{k, 1}}, "detail"
			return cp
		}
		s.wait(2500)
		cartW := 0.0
		if added {
			cartW = 35
		} else if len(s.cart) > 0 {
			cartW = 6
		}
		switch s.choose(cartW, 28, 14, 8, 24) {
		case 0:
			return cartPage()
		case 1:
			return s.toDetail(p)
		case 2:
			return homePage("")
		case 3:
			return searchPage()
		}
		return nil

	case pCart:
		s.wait(2500)
		if len(s.cart) > 0 && r.Float64() < 0.15 {
			s.addToCart(p, s.cart[0].sku, "append_to_cart_in_cart", 1)
			s.cart[0].num++
		}
		if len(s.cart) > 1 && r.Float64() < 0.10 {
			s.wait(1500)
			last := s.cart[len(s.cart)-1]
			s.addToCart(p, last.sku, "remove_from_cart", last.num)
			s.cart = s.cart[:len(s.cart)-1]
		}
		s.wait(3000)
		confirmW := 0.0
		if len(s.cart) > 0 {
			confirmW = 55 * s.buy
		}
		switch s.choose(confirmW, 20, 25) {
		case 0:
			cp := newPage(pConfirm, "pages/order/confirm", "确认订单", "from=cart")
			cp.items, cp.from = append([]cartItem(nil), s.cart...), "cart"
			return cp
		case 1:
			return homePage("")
		}
		return nil

	case pConfirm:
		s.wait(4000)
		if r.Float64() < 0.8 {
			o := s.newOrder(p.items, p.from == "cart")
			s.orderEvent(p, o, "give_order", "", flagOrderNew)
			s.wait(2500)
			if r.Float64() < 0.9 {
				s.orderEvent(p, o, "pay", "pay_time", flagNone)
				if r.Float64() < 0.85 {
					return s.payed(p, o)
				}
				s.wait(2000)
				s.orderEvent(p, o, "cancel_pay", "cancel_pay_time", flagNone)
				if r.Float64() < 0.45 {
					s.wait(4000)
					s.orderEvent(p, o, "pay", "pay_time", flagNone)
					return s.payed(p, o)
				}
				if r.Float64() < 0.3 {
					// Changed their mind: the app cancels the order.
					s.wait(3000)
					s.orderEvent(p, o, "cancel_give_order", "cancel_time", flagNone)
					s.g.keep(o.serial, func(k *keptOrder) { k.cancelMS = s.t })
					return nil
				}
			}
			s.unpaid = o
			switch s.choose(35, 25, 40) {
			case 0:
				return ordersPage()
			case 1:
				return homePage("")
			}
			return nil
		}
		if r.Float64() < 0.4 {
			return homePage("")
		}
		return nil

	case pResult:
		s.wait(2500)
		if r.Float64() < 0.2 {
			s.element(p, "", "#onTapViewOrder", appendKStr(nil, "order_id", p.order.id))
		}
		switch s.choose(35, 10, 55) {
		case 0:
			return homePage("")
		case 1:
			return ordersPage()
		}
		return nil

	case pOrders:
		s.wait(3000)
		switch prev := s.st.paid; {
		case s.unpaid != nil && r.Float64() < 0.6:
			s.orderEvent(p, s.unpaid, "cancel_give_order", "cancel_time", flagNone)
			s.g.keep(s.unpaid.serial, func(k *keptOrder) { k.cancelMS = s.t })
			s.unpaid = nil
		case s.paid != nil && r.Float64() < 0.05:
			s.orderEvent(p, s.paid, "refund", "refund_time", flagNone)
			s.g.keep(s.paid.serial, func(k *keptOrder) { k.refundMS = s.t })
			s.st.paid.refunded = true
		case prev.serial > 0 && !prev.refunded && prev.ms < s.start && r.Float64() < 0.3:
			o := &order{id: s.g.orderID(prev.serial, prev.ms), ms: prev.ms, amt: prev.amt, pay: prev.pay, serial: prev.serial}
			s.orderEvent(p, o, "refund", "refund_time", flagNone)
			s.g.keep(prev.serial, func(k *keptOrder) { k.refundMS = s.t })
			s.st.paid.refunded = true
		}
		if r.Float64() < 0.4 {
			return homePage("")
		}
		return nil

	case pMember:
		s.wait(2500)
		if r.Float64() < 0.4 {
			s.element(p, "components/coupon-card/index", "#onTapCoupon", appendKStr(nil, "coupon_id", "CP_2001"))
		}
		ordersW := 35.0
		if s.st.paid.serial > 0 {
			ordersW = 60
		}
		switch s.choose(ordersW, 35, 30) {
		case 0:
			return ordersPage()
		case 1:
			return homePage("")
		}
		return nil

	case pLive:
		s.cur.component = true // setComponent: the live room's product shelf
		s.wait(20_000)
		c := []int{0, 3, -1}[p.room%3]
		for range 2 + r.IntN(3) {
			s.wait(15_000)
			s.expose(p, s.pickSKU(c))
		}
		if r.Float64() < 0.08 {
			s.wait(5000)
			s.share(p)
		}
		s.wait(60_000)
		switch s.choose(30, 15, 55) {
		case 0:
			return s.toDetail(p)
		case 1:
			return homePage("")
		}
		return nil
	}
	return nil
}

// --- uploads -----------------------------------------------------------------

// plan cuts the events into uploads. With n == 0 it follows the SDK: a
// flush when a track() leaves 10 events queued, else 1 s after the last
// event (the debounce).
func (s *session) plan(n int) {
	from := 0
	for i := range s.evs {
		cnt := i - from + 1
		switch {
		case n > 0:
			if cnt < n {
				continue
			}
			s.batches = append(s.batches, batch{from, i + 1, s.evs[i].t})
		case cnt >= 10:
			s.batches = append(s.batches, batch{from, i + 1, s.evs[i].t})
		case i+1 < len(s.evs) && s.evs[i+1].t <= s.evs[i].t+1000:
			continue
		default:
			s.batches = append(s.batches, batch{from, i + 1, s.evs[i].t + 1000})
		}
		from = i + 1
	}
	if from < len(s.evs) {
		s.batches = append(s.batches, batch{from, len(s.evs), s.evs[len(s.evs)-1].t + 1000})
	}
}

var liveComponent = []byte(`,"component":{"component_id":"live_goods_shelf","component_name":"直播间货架"}`)

// appendContext writes what the SDK spreads over every event of an upload,
// in the order the SDK writes it (spec A.12).
func (s *session) appendContext(b []byte, c *ctxState) []byte {
	b = append(b, `,"idenTifier":"---1`...)
	b = append(b, flag(s.queryKeys["chan_id"]), flag(c.referApp != ""), flag(c.room >= 0 || s.queryKeys["room_id"]))
	b = append(b, s.identUser...)
	b = append(b, '"')
	b = append(b, s.wxUser...)
	b = append(b, devices[s.u.device].json...)
	b = append(b, `,"framework_info":{},"chan":`...)
	open := len(b)
	b = append(b, s.queryChan...)
	b = appendKInt(b, "chan_wxapp_scene", int64(c.scene))
	if c.referApp != "" {
		b = appendKStr(b, "chan_refer_app_id", c.referApp)
	}
	if s.u.sdk2 {
		b = append(b, `,"qz_gdt":""`...)
	}
	if s.persistVid != "" {
		b = appendKStr(b, "gdt_vid", s.persistVid)
	}
	b = append(b, s.fixedChan...)
	if c.room >= 0 && !s.queryKeys["room_id"] {
		b = appendKStr(b, "room_id", liveRooms[c.room].id)
	}
	b[open] = '{' // the first fragment's comma opens the object
	b = append(b, '}')
	b = appendKStr(b, "sr_sdk_version", s.sdkVer)
	if c.component {
		b = append(b, liveComponent...)
	}
	return append(b, s.storeInfo...)
}

func flag(set bool) byte {
	if set {
		return '1'
	}
	return '-'
}

// appendBatch writes the upload body of bt: a JSON array of events whose
// context is the SDK's state when the batch was sent (spec A.3).
func (s *session) appendBatch(b []byte, bt batch) []byte {
	c := &s.ctxs[s.evs[bt.to-1].ctx]
	ctxb := s.appendContext(s.g.ctxBuf[:0], c)
	s.g.ctxBuf = ctxb
	b = append(b, '[')
	for i := bt.from; i < bt.to; i++ {
		if i > bt.from {
			b = append(b, ',')
		}
		e := &s.evs[i]
		b = append(b, `{"type":`...)
		b = appendStr(b, e.typ)
		b = append(b, `,"props":{"page":`...)
		b = appendStr(b, e.page)
		b = appendKStr(b, "page_title", e.title)
		if e.auto {
			b = append(b, `,"is_sdk_auto_track":true`...)
		}
		b = append(b, s.arena[e.pre[0]:e.pre[1]]...)
		if e.referSlot {
			if c.referPage != "" {
				b = appendKStr(b, "refer_page", c.referPage)
			}
			b = append(b, s.arena[e.post[0]:e.post[1]]...)
		}
		b = appendKInt(b, "time", e.t)
		b = append(b, ctxb...)
		if !e.referSlot && c.referPage != "" {
			b = appendKStr(b, "refer_page", c.referPage)
		}
		b = append(b, `},"from":"sr-sdk-wxapp","tracking_id":`...)
		b = appendStr(b, s.tracking)
		b = appendKInt(b, "log_id", int64(i))
		b = append(b, '}')
	}
	return append(b, ']')
}
