package store

import (
	"sync"
	"time"
)

// knownLimit bounds each of Known's maps: past it a map starts again
// empty, which costs some work that changes nothing, never a wrong answer.
const knownLimit = 100_000

// Known remembers what this process saw committed to event_contexts and
// ad_touches. The SDK repeats an upload's context on every event and, from
// SDK 2.x, a user's click id on every later event, so much of what a flush
// brings to either table is there already; knowing it spares WriteEvents
// looking up those contexts and upserting those touches.
//
// It is only ever a hint, also with several nodes on one database: it
// holds what is certainly stored, and neither table loses rows or has a
// touch's first_seen move later or its ids cleared, so what another node
// writes can only make a stored row cover more. A miss just does the work.
// The zero value is ready; a nil *Known knows nothing.
type Known struct {
	mu       sync.Mutex
	contexts map[ContextKey]struct{}
	touches  map[TouchKey]touchSeen
}

// touchSeen is what a stored touch is known to hold at least: a first_seen
// no later than first, an ad_id if hasAd, a union_id if hasUnion.
type touchSeen struct {
	first           time.Time
	hasAd, hasUnion bool
}

// Context tells whether the context is known to be stored.
func (k *Known) Context(c ContextKey) bool {
	if k == nil {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.contexts[c]
	return ok
}

// Changes lists the touches of ts that could change ad_touches: those the
// stored touches, as far as they are known, do not already cover.
func (k *Known) Changes(ts map[TouchKey]Touch) []Touch {
	out := make([]Touch, 0, len(ts))
	if k == nil {
		for _, t := range ts {
			out = append(out, t)
		}
		return out
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for key, t := range ts {
		s, ok := k.touches[key]
		if !ok || t.FirstSeen.Before(s.first) || (t.AdID != "" && !s.hasAd) || (t.UnionID != "" && !s.hasUnion) {
			out = append(out, t)
		}
	}
	return out
}

// Remember records what a committed flush stored: its contexts, and its
// touches (the upsert wrote those that could change something; the others
// were covered already).
func (k *Known) Remember(f *Flush) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.contexts == nil || len(k.contexts)+len(f.Contexts) > knownLimit {
		k.contexts = make(map[ContextKey]struct{}, len(f.Contexts))
	}
	for c, stored := range f.Contexts {
		if stored {
			k.contexts[c] = struct{}{}
		}
	}
	if k.touches == nil || len(k.touches)+len(f.Touches) > knownLimit {
		k.touches = make(map[TouchKey]touchSeen, len(f.Touches))
	}
	for key, t := range f.Touches {
		seen := touchSeen{first: t.FirstSeen, hasAd: t.AdID != "", hasUnion: t.UnionID != ""}
		if s, ok := k.touches[key]; ok {
			if s.first.Before(seen.first) {
				seen.first = s.first
			}
			seen.hasAd = seen.hasAd || s.hasAd
			seen.hasUnion = seen.hasUnion || s.hasUnion
		}
		k.touches[key] = seen
	}
}
