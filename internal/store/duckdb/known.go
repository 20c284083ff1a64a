package duckdb

import (
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
)

// knownLimit bounds each of known's maps: past it a map starts again
// empty, which costs some work that changes nothing, never a wrong answer.
const knownLimit = 100_000

// known remembers what this process committed to event_contexts and
// ad_touches. The SDK repeats an upload's context on every event and, from
// SDK 2.x, a user's click id on every later event, so much of what a flush
// brings to either table is there already; knowing it in memory spares
// WriteEvents looking up those contexts and upserting those touches (the
// whole statement when nothing is left). Only what is certainly stored is
// remembered: a miss just does the work. Nothing else writes or deletes
// these tables. Guarded by the write lock.
type known struct {
	contexts map[ctxKey]struct{}
	touches  map[touchKey]touchSeen
}

type ctxKey struct {
	app string
	id  int64
}

// touchKey is an ad_touches key: app, user (open_id, else union_id), click.
type touchKey struct{ app, user, click string }

// touchSeen is what a stored touch is known to hold at least: a first_seen
// no later than first, an ad_id if hasAd, a union_id if hasUnion.
type touchSeen struct {
	first           time.Time
	hasAd, hasUnion bool
}

func (k *known) context(c ctxKey) bool {
	_, ok := k.contexts[c]
	return ok
}

func (k *known) addContexts(cs map[ctxKey]bool) {
	if k.contexts == nil || len(k.contexts)+len(cs) > knownLimit {
		k.contexts = make(map[ctxKey]struct{}, len(cs))
	}
	for c := range cs {
		k.contexts[c] = struct{}{}
	}
}

// touchSet is the ad touches of one flush's events, as writeTouches
// writes them.
type touchSet map[touchKey]touchRow

// touchRow is the ad_touches row of one flush's events of a user and click:
// the greatest open, union and ad ids among them ("" for none) and the
// earliest time.
type touchRow struct {
	openID, unionID, adID string
	first                 time.Time
}

// add records the ad touch of an event of the flush.
func (t touchSet) add(app string, e *event.Event, click, adID string, ts time.Time) {
	user := e.OpenID
	if user == "" {
		user = e.UnionID
	}
	if user == "" {
		return // a touch needs a user
	}
	k := touchKey{app, user, click}
	r, ok := t[k]
	if !ok || ts.Before(r.first) {
		r.first = ts
	}
	r.openID = max(r.openID, e.OpenID)
	r.unionID = max(r.unionID, e.UnionID)
	r.adID = max(r.adID, adID)
	t[k] = r
}

// changes lists the rows of ts that could change ad_touches: those the
// stored touches, as far as they are known, do not already cover.
func (k *known) changes(ts touchSet) []touchKey {
	var out []touchKey
	for key, r := range ts {
		s, ok := k.touches[key]
		if !ok || r.first.Before(s.first) || (r.adID != "" && !s.hasAd) || (r.unionID != "" && !s.hasUnion) {
			out = append(out, key)
		}
	}
	return out
}

// addTouches records the touches of the events a committed flush inserted:
// the upsert wrote the rows that could change something, the others were
// covered already.
func (k *known) addTouches(ts touchSet) {
	if k.touches == nil || len(k.touches)+len(ts) > knownLimit {
		k.touches = make(map[touchKey]touchSeen, len(ts))
	}
	for key, r := range ts {
		t := touchSeen{first: r.first, hasAd: r.adID != "", hasUnion: r.unionID != ""}
		if s, ok := k.touches[key]; ok {
			if s.first.Before(t.first) {
				t.first = s.first
			}
			t.hasAd = t.hasAd || s.hasAd
			t.hasUnion = t.hasUnion || s.hasUnion
		}
		k.touches[key] = t
	}
}
