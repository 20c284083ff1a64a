package demo

import (
	"math"
	"slices"
	"time"
)

// Who the users are and when they come: attributes, arrival rates, the
// shape of a day and the scale that meets a target number of events.

// userAttr are a person's fixed traits, derived from the seed and their
// index so that nothing per user needs to be kept.
type userAttr struct {
	h         uint64
	rate      float64 // expected visits per day after arrival
	arrival   int     // day of the first visit; -1: a customer from before
	source    int     // how they first came
	anonymous bool    // never gets an open_id (no login, auto open_id off)
	union     bool    // has a union_id (follows the official account)
	member    bool    // has a user_id (registered member)
	sdk2      bool    // runs the 2.1.1 SDK (else an older release with 1.10.1)
	device    int
	shop      int     // home shop, -1 none
	guide     int     // bound guide, -1 none
	buyer     float64 // propensity to buy, around 1
}

// userRate is the part of a user's traits the daily schedule needs; New
// computes it once per user into rates and arrivals.
func (g *Generator) userRate(i int) (rate float64, arrival int) {
	h := mix(g.seed ^ mix(uint64(i)+0x51ed))
	u := unit(h)
	switch {
	case u < 0.08: // loyal customers
		rate = 0.7
	case u < 0.35: // regulars
		rate = 0.25
	default: // occasional
		rate = 0.06
	}
	a := unit(mix(h + 1))
	if a < 0.35 {
		return rate, -1
	}
	return rate, int((a - 0.35) / 0.65 * float64(g.opt.Days))
}

func (g *Generator) userAttr(i int) userAttr {
	u := userAttr{rate: float64(g.rates[i]), arrival: int(g.arrivals[i])}
	h := mix(g.seed ^ mix(uint64(i)+0x51ed) + 2)
	u.h = h
	next := func() float64 { h = mix(h); return unit(h) }
	u.source = pickW(firstSourceW[:], next())
	u.anonymous = next() < 0.03
	u.union = next() < 0.45
	u.member = next() < 0.4
	u.sdk2 = next() < 0.9
	u.device = pickDevice(next())
	u.shop = -1
	if next() < 0.6 {
		u.shop = int(next() * float64(len(shops)))
	}
	u.guide = -1
	if u.source == srcGuide || next() < 0.08 {
		u.guide = int(next() * numGuides)
		u.shop = u.guide % len(shops)
	}
	u.buyer = 0.5 + next()
	if u.rate > 0.5 {
		u.buyer += 0.4
	}
	return u
}

func pickDevice(x float64) int {
	total := 0.0
	for _, d := range devices {
		total += d.weight
	}
	x *= total
	for i, d := range devices {
		if x < d.weight {
			return i
		}
		x -= d.weight
	}
	return len(devices) - 1
}

// pickW picks an index with probability proportional to its weight, x in
// [0, 1).
func pickW(w []float64, x float64) int {
	total := 0.0
	for _, v := range w {
		total += v
	}
	x *= total
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}

// --- the daily schedule --------------------------------------------------

// hourWeights is the hourly rhythm of a shopping mini-program in China:
// quiet at night, a lunch peak and a bigger evening peak.
var hourWeights = [24]float64{
	2.0, 1.2, 0.6, 0.4, 0.3, 0.5, 1.2, 2.5, 3.5, 4.0, 4.5, 5.0,
	6.0, 5.5, 4.5, 4.5, 4.8, 5.0, 5.5, 6.5, 8.0, 8.5, 6.5, 4.0,
}

var hourCum = func() [24]float64 {
	var c [24]float64
	sum := 0.0
	for i, w := range hourWeights {
		sum += w
		c[i] = sum
	}
	for i := range c {
		c[i] /= sum
	}
	return c
}()

// Weekends are busier.
var weekdayFactor = [7]float64{
	time.Sunday: 1.15, time.Monday: 0.95, time.Tuesday: 0.93, time.Wednesday: 0.95,
	time.Thursday: 0.97, time.Friday: 1.05, time.Saturday: 1.18,
}

// arrivalBoost is added to the visit rate on the day a user first comes.
const arrivalBoost = 1.0

func (g *Generator) factorOfDay(d int) float64 {
	wd := time.UnixMilli(g.midnights[d]).In(g.loc).Weekday()
	noise := 0.92 + 0.16*unit(mix(g.seed^uint64(d)*0x9e37+0xda7))
	trend := 1 + 0.005*float64(d) // a slowly growing shop
	return weekdayFactor[wd] * noise * trend
}

// loadDay schedules the session starts of the next day.
func (g *Generator) loadDay() {
	d := g.day
	g.day++
	g.starts = g.starts[:0]
	g.next = 0
	dayStart, dayEnd := g.midnights[d], g.midnights[d+1]
	if dayStart > g.endMS {
		return
	}
	f := g.dayFactor[d] * g.scale
	dseed := mix(g.seed ^ (uint64(d)+1)*0x2545f4914f6cdd1d)
	for i := range g.opt.Users {
		rate, arr := float64(g.rates[i]), int(g.arrivals[i])
		if arr > d {
			continue
		}
		lambda := rate
		if arr == d {
			lambda += arrivalBoost
		}
		lambda *= f
		h := mix(dseed ^ uint64(i))
		k := poisson(lambda, unit(h))
		for j := range k {
			h = mix(h + uint64(j))
			ms := dayStart + g.offsetInDay(h, dayEnd-dayStart)
			if ms > g.endMS {
				continue
			}
			g.starts = append(g.starts, sessionStart{ms: ms, user: int32(i)})
		}
	}
	slices.SortFunc(g.starts, func(a, b sessionStart) int {
		if a.ms != b.ms {
			if a.ms < b.ms {
				return -1
			}
			return 1
		}
		return int(a.user - b.user)
	})
}

// offsetInDay picks a time of day following hourWeights.
func (g *Generator) offsetInDay(h uint64, dayLen int64) int64 {
	x := unit(h)
	hour := 0
	for hour < 23 && x >= hourCum[hour] {
		hour++
	}
	within := int64(unit(mix(h)) * 3600_000)
	off := int64(hour)*3600_000 + within
	if off >= dayLen { // a short day at a DST change
		off = dayLen - 1
	}
	return off
}

// poisson draws from Poisson(lambda) by inverting its CDF at x.
func poisson(lambda, x float64) int {
	if lambda <= 0 {
		return 0
	}
	p := math.Exp(-lambda)
	s := p
	k := 0
	for x > s && k < 50 {
		k++
		p *= lambda / float64(k)
		s += p
	}
	return k
}

// scaleFor finds the rate multiplier that gives about target events: the
// expected number of sessions is summed exactly, the events per session are
// measured on a sample.
func (g *Generator) scaleFor(target int) float64 {
	// weight[d] is how much of day d's traffic happens before End; from[d]
	// sums it over days d and later, for users who arrived by then.
	days := g.opt.Days
	weight := make([]float64, days)
	for d := range days {
		switch {
		case g.midnights[d] > g.endMS:
		case g.endMS < g.midnights[d+1]: // today: only the hours before End
			weight[d] = g.dayFactor[d] * g.fractionBefore(g.endMS-g.midnights[d])
		default:
			weight[d] = g.dayFactor[d]
		}
	}
	from := make([]float64, days+1)
	for d := days - 1; d >= 0; d-- {
		from[d] = from[d+1] + weight[d]
	}
	sessions := 0.0
	for i := range g.opt.Users {
		rate, arr := float64(g.rates[i]), int(g.arrivals[i])
		if arr < 0 {
			sessions += rate * from[0]
			continue
		}
		sessions += rate*from[arr] + arrivalBoost*weight[arr]
	}
	if sessions == 0 {
		return 1
	}
	return float64(target) / (sessions * g.sampleEventsPerSession())
}

func (g *Generator) fractionBefore(off int64) float64 {
	hour := int(off / 3600_000)
	if hour >= 24 {
		return 1
	}
	prev := 0.0
	if hour > 0 {
		prev = hourCum[hour-1]
	}
	return prev + (hourCum[hour]-prev)*float64(off%3600_000)/3600_000
}

// sampleEventsPerSession simulates the first sessions of a smaller copy of
// this generator and returns their mean length.
func (g *Generator) sampleEventsPerSession() float64 {
	opt := g.opt
	opt.TargetEvents = 0
	if opt.Users > 4000 {
		opt.Users = 4000
	}
	s := New(opt)
	n, events := 0, 0
	for n < 1500 {
		for s.next >= len(s.starts) && s.day < s.opt.Days {
			s.loadDay()
		}
		if s.next >= len(s.starts) {
			break
		}
		st := s.starts[s.next]
		s.next++
		if ss := s.startSession(st); ss != nil {
			events += len(ss.evs)
		}
		n++
	}
	if n == 0 || events == 0 {
		return 35
	}
	return float64(events) / float64(n)
}

// --- the heap of sessions in progress --------------------------------------
