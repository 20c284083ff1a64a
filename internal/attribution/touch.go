package attribution

import (
	"context"
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// DefaultWindow is the attribution window of an app that sets none: a
// conversion is credited to an ad click seen at most this long before it.
const DefaultWindow = 7 * 24 * time.Hour

// Touch is an ad click a user came through: the click id, the ad id (when
// weixinadinfo carried one) and the first time it was seen for that user.
// Resolve finds them on the events before they are stored; the store keeps
// them per app and user (ad_touches, written in the events' transaction).
type Touch struct {
	ClickID string
	AdID    string
	At      time.Time
}

// User identifies the converting user the way the touches are kept: by
// open_id, and by union_id where there is no open_id. Either may be empty.
type User struct {
	OpenID  string
	UnionID string
}

// Probe asks for the touch a conversion of User at At is credited to.
type Probe struct {
	User User
	At   time.Time
}

// LastTouch finds the touch a conversion at `at` is credited to: the user's
// LAST touch inside window before it (a touch at the very instant of the
// conversion counts, one older than window does not). window <= 0 means
// DefaultWindow. ok is false when there is none: the conversion is
// unattributed. It runs in tx so that touches written by the same
// transaction (a launch with gdt_vid uploaded with the order) count.
func LastTouch(ctx context.Context, tx store.Tx, app string, u User, at time.Time, window time.Duration) (Touch, bool, error) {
	ts, err := LastTouches(ctx, tx, app, []Probe{{u, at}}, window)
	if err != nil {
		return Touch{}, false, err
	}
	return ts[0], ts[0].ClickID != "", nil
}

// LastTouches is LastTouch for many conversions of one app at once (one
// read of the touches of every user asked about rather than one per
// conversion). The result is in the order of probes; a zero Touch means
// unattributed.
func LastTouches(ctx context.Context, tx store.Tx, app string, probes []Probe, window time.Duration) ([]Touch, error) {
	if window <= 0 {
		window = DefaultWindow
	}
	out := make([]Touch, len(probes))
	// The candidate touches of every user asked about, by open_id and by
	// union_id.
	byOpen, byUnion := map[string][]Touch{}, map[string][]Touch{}
	var opens, unions []string
	var lo, hi time.Time
	for _, p := range probes {
		if p.User.OpenID != "" {
			if _, ok := byOpen[p.User.OpenID]; !ok {
				byOpen[p.User.OpenID] = nil
				opens = append(opens, p.User.OpenID)
			}
		}
		if p.User.UnionID != "" {
			if _, ok := byUnion[p.User.UnionID]; !ok {
				byUnion[p.User.UnionID] = nil
				unions = append(unions, p.User.UnionID)
			}
		}
		if lo.IsZero() || p.At.Add(-window).Before(lo) {
			lo = p.At.Add(-window)
		}
		if p.At.After(hi) {
			hi = p.At
		}
	}
	if len(opens)+len(unions) == 0 {
		return out, nil
	}
	rows, err := tx.Touches(ctx, app, opens, unions, lo.UTC(), hi.UTC())
	if err != nil {
		return nil, fmt.Errorf("ad touches of app %s: %w", app, err)
	}
	for _, r := range rows {
		t := Touch{ClickID: r.ClickID, AdID: r.AdID, At: r.FirstSeen.UTC()}
		if _, ok := byOpen[r.OpenID]; ok && r.OpenID != "" {
			byOpen[r.OpenID] = append(byOpen[r.OpenID], t)
		}
		if _, ok := byUnion[r.UnionID]; ok && r.UnionID != "" {
			byUnion[r.UnionID] = append(byUnion[r.UnionID], t)
		}
	}
	for i, p := range probes {
		var best Touch
		for _, cands := range [][]Touch{byOpen[p.User.OpenID], byUnion[p.User.UnionID]} {
			for _, t := range cands {
				if t.At.After(p.At) || t.At.Before(p.At.Add(-window)) {
					continue
				}
				// Last touch wins; the click id breaks ties so the answer
				// is stable.
				if best.ClickID == "" || t.At.After(best.At) || (t.At.Equal(best.At) && t.ClickID > best.ClickID) {
					best = t
				}
			}
		}
		out[i] = best
	}
	return out, nil
}
