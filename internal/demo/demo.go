// Package demo generates realistic, deterministic mini-program traffic as
// the Youshu SDK (sr-sdk-wxapp) would upload it: sessions of thousands of
// users over several days, every behaviour of the spec, orders through
// their statuses, and the channels the analyses read (scenes, chan_id,
// guides, live rooms, ad clicks, shops, official-account articles).
//
// Everything derives from Options.Seed: two generators with the same
// options produce the same bytes. The Generator streams uploads in time
// order and keeps only the sessions in progress, so it serves both the
// --demo fill (a few hundred thousand events) and the benchmarks (tens of
// millions).
package demo

import (
	"container/heap"
	"slices"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// The demo app's fixed identity. The token and secrets are public: the demo
// app is for trying shuyuan out, never for production data.
const (
	AppID         = "demo"
	AppName       = "鲜果时光 Demo"
	SDKToken      = "demo-sdk-token-7f3c91d2"
	WxAppID       = "wxd3m0a11f9e8c7b6a"
	DataAPIAppID  = "demo-data-api"
	DataAPISecret = "demo-data-api-secret-2b9e6f4c"
)

// Defaults of Options.
const (
	DefaultDays  = 7
	DefaultUsers = 3000
)

// Options shape the generated traffic. The zero value is the default demo:
// 3,000 users over the 7 days ending now, in Asia/Shanghai.
type Options struct {
	Seed int64
	// Days is the number of local days, the last one being End's.
	Days int
	// Users is the number of distinct people who may visit; about 70 % of
	// them do within a week (the others arrive later or not at all).
	Users int
	// End is the instant nothing is generated after (default time.Now()).
	End time.Time
	// Location is where days and hours are cut (default Asia/Shanghai).
	Location *time.Location
	// TargetEvents, if positive, scales the visit rate so that about this
	// many events are generated (within a few per cent); 0 keeps the
	// natural volume: about 140,000 events at the defaults.
	TargetEvents int
	// BatchEvents, if positive, cuts every session's events into uploads of
	// exactly this many (the last one of a session may be shorter); 0
	// follows the SDK's own flush rules: an upload when 10 events are
	// queued or 1 s after the last event.
	BatchEvents int
	// WxAppID is wx_user.app_id (default the demo app's WxAppID).
	WxAppID string
	// Progress, if set, is called by Fill about once a second with the
	// number of events stored so far.
	Progress func(events int)
	// Backend, if set, makes Fill also play the merchant's backend after
	// the SDK traffic: the orders (most of the SDK's, a few only the
	// backend knows), the daily order sums (one day deliberately off) and
	// WeChat's visit-page report, as the data-api would store them.
	Backend BackendStore
}

// Upload is one SDK request: the JSON body the SDK would POST to
// /api/report, the number of events in it and when it is sent.
type Upload struct {
	Body   []byte
	Events int
	Time   time.Time
}

// Stats count what was generated (and, from Fill, stored).
type Stats struct {
	Sessions   int
	Uploads    int
	Events     int
	Users      int // distinct people (open_id, else the persisted local_id)
	Orders     int // distinct order ids (give_order)
	PaidOrders int // orders that reached payed
	Days       int // local days with at least one event
	// Types counts events per type.
	Types map[string]int

	// Set by Fill: what the store made of the events.
	Accepted    int
	Duplicates  int
	Quarantined int
	// Backend is what Fill sent as the merchant's backend (Options.Backend).
	Backend BackendStats
}

// Generator streams uploads in time order. It is not safe for concurrent
// use.
type Generator struct {
	opt       Options
	seed      uint64
	wxAppID   string
	loc       *time.Location
	endMS     int64
	midnights []int64 // Days+1 local midnights, ms
	dayFactor []float64
	scale     float64

	users    []userState
	rates    []float32 // per user, see userRate
	arrivals []int32
	day      int
	starts   []sessionStart
	next     int
	active   sessionHeap
	serial   int64
	orders   int64

	stats    Stats
	daysSeen []bool
	lastDay  int
	buf      []byte // the body being built
	ctxBuf   []byte // the context block of the batch being built

	// kept are the orders placed, by serial, when Fill also plays the
	// merchant's backend (Options.Backend); nil otherwise, so that the
	// benchmarks' tens of millions of events keep nothing.
	kept      map[int64]*keptOrder
	keptOrder []*keptOrder
}

type sessionStart struct {
	ms   int64
	user int32
}

// userState is what one session leaves for the user's later ones.
type userState struct {
	seen bool
	// adSerial is 1 + the serial of the session that came from an ad
	// click: SDK 2.x keeps that click's gdt_vid for all later sessions.
	adSerial int64
	paid     paidOrder
}

// paidOrder is the user's last paid order, which a later visit may refund.
type paidOrder struct {
	serial   int64 // 0: none
	ms       int64
	amt, pay int64
	refunded bool
}

// New returns a generator for opts with defaults filled in.
func New(opts Options) *Generator {
	if opts.Days <= 0 {
		opts.Days = DefaultDays
	}
	if opts.Users <= 0 {
		opts.Users = DefaultUsers
	}
	if opts.End.IsZero() {
		opts.End = time.Now()
	}
	if opts.Location == nil {
		opts.Location = shanghai()
	}
	if opts.WxAppID == "" {
		opts.WxAppID = WxAppID
	}
	g := &Generator{
		opt:     opts,
		seed:    mix(uint64(opts.Seed) ^ 0x5b1a7e3c9d2f4e61),
		wxAppID: opts.WxAppID,
		loc:     opts.Location,
		endMS:   opts.End.UnixMilli(),
		users:   make([]userState, opts.Users),
		scale:   1,
		lastDay: -1,
	}
	end := opts.End.In(g.loc)
	last := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, g.loc)
	for d := range opts.Days + 1 {
		g.midnights = append(g.midnights, last.AddDate(0, 0, d-opts.Days+1).UnixMilli())
	}
	for d := range opts.Days {
		g.dayFactor = append(g.dayFactor, g.factorOfDay(d))
	}
	g.rates = make([]float32, opts.Users)
	g.arrivals = make([]int32, opts.Users)
	for i := range opts.Users {
		r, a := g.userRate(i)
		g.rates[i], g.arrivals[i] = float32(r), int32(a)
	}
	g.daysSeen = make([]bool, opts.Days)
	g.stats.Types = map[string]int{}
	if opts.TargetEvents > 0 {
		g.scale = g.scaleFor(opts.TargetEvents)
	}
	return g
}

func shanghai() *time.Location {
	loc, err := time.LoadLocation(tenant.DefaultTimezone)
	if err != nil {
		return time.FixedZone(tenant.DefaultTimezone, 8*3600)
	}
	return loc
}

// Stats returns the counts of what has been generated so far.
func (g *Generator) Stats() Stats {
	s := g.stats
	s.Types = make(map[string]int, len(g.stats.Types))
	for k, v := range g.stats.Types {
		s.Types[k] = v
	}
	return s
}

// Next returns the next upload in time order, or false when all sessions
// are done. The body is the caller's to keep.
func (g *Generator) Next() (Upload, bool) {
	for {
		for g.next >= len(g.starts) && g.day < g.opt.Days {
			g.loadDay()
		}
		if g.next < len(g.starts) {
			st := g.starts[g.next]
			if len(g.active) == 0 || st.ms < g.active[0].flushMS() {
				g.next++
				if s := g.startSession(st); s != nil {
					heap.Push(&g.active, s)
				}
				continue
			}
		}
		if len(g.active) == 0 {
			return Upload{}, false
		}
		s := g.active[0]
		up := g.emit(s)
		if s.bi >= len(s.batches) {
			heap.Pop(&g.active)
		} else {
			heap.Fix(&g.active, 0)
		}
		return up, true
	}
}

// emit builds the body of the session's next batch and counts it.
func (g *Generator) emit(s *session) Upload {
	bt := s.batches[s.bi]
	s.bi++
	g.buf = s.appendBatch(g.buf[:0], bt)
	body := make([]byte, len(g.buf))
	copy(body, g.buf)
	for i := bt.from; i < bt.to; i++ {
		e := &s.evs[i]
		g.stats.Types[e.typ]++
		switch e.flag {
		case flagOrderNew:
			g.stats.Orders++
		case flagOrderPaid:
			g.stats.PaidOrders++
		}
		if d := g.dayOf(e.t); d >= 0 && !g.daysSeen[d] {
			g.daysSeen[d] = true
			g.stats.Days++
		}
	}
	g.stats.Events += bt.to - bt.from
	g.stats.Uploads++
	return Upload{Body: body, Events: bt.to - bt.from, Time: time.UnixMilli(bt.flushMS)}
}

// dayOf is the index of the local day of ms, -1 outside the range.
func (g *Generator) dayOf(ms int64) int {
	if g.lastDay >= 0 && ms >= g.midnights[g.lastDay] && ms < g.midnights[g.lastDay+1] {
		return g.lastDay
	}
	i, found := slices.BinarySearch(g.midnights, ms)
	if !found {
		i--
	}
	if i < 0 || i >= g.opt.Days {
		return -1
	}
	g.lastDay = i
	return i
}

// --- users ---------------------------------------------------------------

// Acquisition and entry sources of a session.
const (
	srcDirect  = iota // recent list, desktop icon, "my mini-programs"
	srcSearch         // WeChat search
	srcShare          // a friend's share card or a timeline post
	srcQR             // a poster or ground-push QR code in a shop
	srcGuide          // a shop guide's code or share
	srcOA             // an official-account article, menu or message
	srcAd             // a WeChat ad click (gdt_vid + weixinadinfo)
	srcLive           // a Channels live room
	srcPartner        // another mini-program (scene 1037)
	numSources
)

// First visits come mostly from shares, ads and search; return visits
// mostly from the recent list.
var (
	firstSourceW  = [numSources]float64{10, 12, 22, 8, 10, 10, 20, 5, 3}
	returnSourceW = [numSources]float64{55, 8, 10, 2, 4, 8, 5, 6, 2}
)

type sessionHeap []*session

func (h sessionHeap) Len() int { return len(h) }
func (h sessionHeap) Less(i, j int) bool {
	a, b := h[i].flushMS(), h[j].flushMS()
	if a != b {
		return a < b
	}
	return h[i].serial < h[j].serial
}
func (h sessionHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *sessionHeap) Push(x any)   { *h = append(*h, x.(*session)) }
func (h *sessionHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return s
}
