package demo

import (
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"
)

// A session is one cold start of the mini-program (one tracking_id): it is
// simulated in full when it starts, then handed out upload by upload as the
// SDK would have flushed them.

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
		// The links inside the day's article carry its marker as chan_id
		// (docs/wechat-data.md), save one session in five: a link the
		// merchant left unmarked. Other official-account entries (menu,
		// messages) carry the account's channel.
		chanID := "mp_article_01"
		if s.scene == 1058 && s.serial%5 != 0 {
			chanID = ArticleMarker(time.UnixMilli(s.start).In(g.loc))
		}
		q = []kv{{"chan_id", chanID}, {"article_id", articles[s.article].id}}
		extra := "chan_id=" + chanID + "&article_id=" + articles[s.article].id
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

// choose picks an index by weight.
func (s *session) choose(w ...float64) int { return pickW(w, s.r.Float64()) }

// onPage plays what a user does on p and returns the next page, nil to
// leave the mini-program.
func (s *session) onPage(p *page) *page {
	switch p.kind {
	case pHome:
		return s.onHome(p)
	case pCategory:
		return s.onCategory(p)
	case pList:
		return s.onList(p)
	case pSearch:
		return s.onSearch(p)
	case pDetail:
		return s.onDetail(p)
	case pCart:
		return s.onCart(p)
	case pConfirm:
		return s.onConfirm(p)
	case pResult:
		return s.onResult(p)
	case pOrders:
		return s.onOrders(p)
	case pMember:
		return s.onMember(p)
	case pLive:
		return s.onLive(p)
	}
	return nil
}
