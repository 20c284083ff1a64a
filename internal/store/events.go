package store

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
)

// EventBatch is what one collector request hands to the store: the events
// of a single SDK upload for one app, already parsed, validated and with
// their ad clicks resolved (attribution.Resolve), so that the store only
// persists.
//
// An event is a re-send of a stored one, and is not stored again, when it
// is of the same app with the same event.Event.Key and either both carry
// the same client time (props.time), or neither carries one (the key then
// covers everything the event says). The embedded store compares with the
// events received within its dedup window (6 h, every SDK re-send);
// PostgreSQL's unique key also catches an older re-send of a timed event.
type EventBatch struct {
	AppID      string
	ReceivedAt time.Time
	// Events are the valid events, ClickID and AdID resolved.
	Events []event.Event
	// Quarantined are the events that failed validation: kept in the
	// quarantine with source "sdk" and counted in EventResult.Quarantined.
	Quarantined []event.Quarantined
	// BadClicks are malformed click ids of events that are stored without
	// one: kept in the quarantine with source "attribution", not counted.
	BadClicks []event.Quarantined
	// Relay, when the app relays to Youshu, is the upload as sent, added
	// to the relay outbox in the same transaction (BatchRelays).
	Relay *Relay
	// IntakeSeq, when the batch was loaded from the intake log, is the
	// number of its record there: WriteEvents stores the highest of a
	// flush as the intake position in the same transaction.
	IntakeSeq uint64
}

// IntakeKey is the app_state key (of app "") holding the intake position.
const IntakeKey = "intake_position"

// IntakeMark is the highest IntakeSeq of batches, 0 if none has one.
func IntakeMark(batches []*EventBatch) uint64 {
	var m uint64
	for _, b := range batches {
		m = max(m, b.IntakeSeq)
	}
	return m
}

// ParseIntakePosition reads the intake position as kept in app_state.
func ParseIntakePosition(v string, ok bool, err error) (uint64, error) {
	if err != nil || !ok {
		return 0, err
	}
	n, perr := strconv.ParseUint(v, 10, 64)
	if perr != nil {
		return 0, fmt.Errorf("intake position %q: %w", v, perr)
	}
	return n, nil
}

// EventResult is what became of one EventBatch once committed.
type EventResult struct {
	Accepted    int // new events stored
	Duplicates  int // events already stored (SDK re-sends)
	Quarantined int
}

// Quarantine sources.
const (
	SourceSDK         = "sdk"
	SourceAttribution = "attribution"
)

// Touch is one row of ad_touches: a user of an app came through an ad
// click, first seen at FirstSeen. The user is open_id, else union_id
// (UserKey); both ids are kept so a conversion naming either finds it.
type Touch struct {
	AppID     string
	UserKey   string
	OpenID    string
	UnionID   string
	ClickID   string
	AdID      string
	FirstSeen time.Time
}

// TouchKey is the key of ad_touches.
type TouchKey struct{ App, User, Click string }

// Key is t's key.
func (t Touch) Key() TouchKey { return TouchKey{t.AppID, t.UserKey, t.ClickID} }

// Merge folds o, a touch of the same key, into t: the earliest first
// time, and the ids any of them carries (the greatest, so the result does
// not depend on the order).
func (t *Touch) Merge(o Touch) {
	if o.FirstSeen.Before(t.FirstSeen) {
		t.FirstSeen = o.FirstSeen
	}
	t.OpenID = max(t.OpenID, o.OpenID)
	t.UnionID = max(t.UnionID, o.UnionID)
	t.AdID = max(t.AdID, o.AdID)
}

// ContextKey is the key of event_contexts.
type ContextKey struct {
	App string
	ID  int64
}

// Flush is the plan of one WriteEvents: the events of its batches without
// the repeats inside the flush, their time bounds, the contexts, touches
// and quarantine rows to write, and the results, which a store completes
// as it finds the events already stored. Both stores write a flush from
// its plan; only how they find what is stored and how they write differs.
type Flush struct {
	Batches []*EventBatch
	Results []EventResult
	// Events are the flush's events without repeats inside it; a store
	// sets Stored on those it finds already stored.
	Events []FlushEvent
	// The bounds of the events' times and the oldest receive time.
	MinTS, MaxTS, OldestRecv time.Time
	// Contexts are the contexts of Events not known to be stored; a store
	// sets them true once found stored or written.
	Contexts map[ContextKey]bool
	// Touches are the ad touches of the events stored (not the re-sends),
	// merged by key; Changed those the stored touches, as far as a process
	// knows them, may not cover. PlanTouches sets both.
	Touches map[TouchKey]Touch
	Changed []Touch
	// Quarantine are the rows to quarantine, without repeats inside the
	// flush; a store leaves out those stored within its dedup window.
	Quarantine []QuarantineRow
}

// FlushEvent is one event of a flush.
type FlushEvent struct {
	Batch int // index in Flush.Batches
	E     *event.Event
	App   string
	// TS is the event's time: its client time, else the time received.
	TS, Recv time.Time
	// Timed tells whether the event carried a client time.
	Timed bool
	// Stored is set by the store when the event is a re-send.
	Stored bool
}

// QuarantineRow is one row of the quarantine.
type QuarantineRow struct {
	App    string
	Recv   time.Time
	Source string // SourceSDK | SourceAttribution
	Type   string // the event type, "" when unknown
	Reason string
	Raw    string
}

// QuarantineKey is what makes two quarantine rows the same: an SDK re-send
// carries the same invalid events, and the same malformed click ids, again.
type QuarantineKey struct{ App, Source, Raw string }

// Key is r's key.
func (r QuarantineRow) Key() QuarantineKey { return QuarantineKey{r.App, r.Source, r.Raw} }

// PlanFlush makes the plan of writing batches, using what known says is
// stored already (nil: nothing is known).
func PlanFlush(batches []*EventBatch, known *Known) *Flush {
	f := &Flush{
		Batches: batches, Results: make([]EventResult, len(batches)),
		Contexts: map[ContextKey]bool{},
	}
	type seenKey struct {
		app   string
		key   int64
		ts    int64
		timed bool
	}
	seen := make(map[seenKey]struct{})
	qseen := make(map[QuarantineKey]struct{})
	addQ := func(r QuarantineRow) {
		if _, dup := qseen[r.Key()]; !dup {
			qseen[r.Key()] = struct{}{}
			f.Quarantine = append(f.Quarantine, r)
		}
	}
	for bi, b := range batches {
		recv := b.ReceivedAt.UTC()
		for i := range b.Events {
			e := &b.Events[i]
			ts, timed := e.Time, !e.Time.IsZero()
			if !timed {
				ts = recv
			}
			// An untimed event's key says all it says: its receive time is
			// not part of what makes it the same.
			k := seenKey{b.AppID, e.Key, 0, timed}
			if timed {
				k.ts = ts.UnixMicro()
			}
			if _, dup := seen[k]; dup {
				f.Results[bi].Duplicates++
				continue
			}
			seen[k] = struct{}{}
			f.Events = append(f.Events, FlushEvent{Batch: bi, E: e, App: b.AppID, TS: ts, Recv: recv, Timed: timed})
			if f.OldestRecv.IsZero() || recv.Before(f.OldestRecv) {
				f.OldestRecv = recv
			}
			if f.MinTS.IsZero() || ts.Before(f.MinTS) {
				f.MinTS = ts
			}
			if ts.After(f.MaxTS) {
				f.MaxTS = ts
			}
			if ck := (ContextKey{b.AppID, e.ContextID}); e.ContextID != 0 && !known.Context(ck) {
				f.Contexts[ck] = false
			}
		}
		for _, q := range b.Quarantined {
			addQ(QuarantineRow{b.AppID, recv, SourceSDK, q.Type, q.Reason, string(q.Raw)})
			f.Results[bi].Quarantined++
		}
		for _, q := range b.BadClicks {
			addQ(QuarantineRow{b.AppID, recv, SourceAttribution, q.Type, q.Reason, string(q.Raw)})
		}
	}
	return f
}

// PlanTouches sets the flush's touches once the store has marked the
// re-sends: one per app, user (open_id, else union_id) and click id of the
// events stored, with the earliest time and every id they carry. A re-send
// makes none: its event, when first stored, made its touch.
func (f *Flush) PlanTouches(known *Known) {
	f.Touches = map[TouchKey]Touch{}
	for _, p := range f.Events {
		e := p.E
		user := e.OpenID
		if user == "" {
			user = e.UnionID
		}
		if p.Stored || e.ClickID == "" || user == "" {
			continue
		}
		t := Touch{AppID: p.App, UserKey: user, OpenID: e.OpenID, UnionID: e.UnionID, ClickID: e.ClickID, AdID: e.AdID, FirstSeen: p.TS}
		if cur, ok := f.Touches[t.Key()]; ok {
			cur.Merge(t)
			t = cur
		}
		f.Touches[t.Key()] = t
	}
	f.Changed = known.Changes(f.Touches)
}

// Finish completes the results once the store has marked the re-sends.
func (f *Flush) Finish() []EventResult {
	for _, e := range f.Events {
		if e.Stored {
			f.Results[e.Batch].Duplicates++
		}
	}
	for bi, b := range f.Batches {
		f.Results[bi].Accepted = len(b.Events) - f.Results[bi].Duplicates
	}
	return f.Results
}

// Inserted counts the events of the flush that are not re-sends.
func (f *Flush) Inserted() int {
	n := 0
	for _, e := range f.Events {
		if !e.Stored {
			n++
		}
	}
	return n
}

// QuarantineSince is the receive time from which stored quarantine rows
// are compared with the flush's: window before its oldest row.
func (f *Flush) QuarantineSince(window time.Duration) time.Time {
	var since time.Time
	for _, r := range f.Quarantine {
		if since.IsZero() || r.Recv.Before(since) {
			since = r.Recv
		}
	}
	return since.Add(-window)
}

// DropStoredQuarantine leaves out the quarantine rows whose key is in
// stored.
func (f *Flush) DropStoredQuarantine(stored map[QuarantineKey]bool) {
	kept := f.Quarantine[:0]
	for _, r := range f.Quarantine {
		if !stored[r.Key()] {
			kept = append(kept, r)
		}
	}
	f.Quarantine = kept
}

// Unloaded is what an answer could not wait for: uploads acknowledged on
// the intake log and not yet in the store when it was computed.
type Unloaded struct {
	Uploads        int64     `json:"uploads"`
	OldestReceived time.Time `json:"oldest_received"`
}

// UnloadedNote is where a reader of the store learns that its answer
// misses acknowledged uploads (WatchUnloaded).
type UnloadedNote struct {
	mu sync.Mutex
	u  *Unloaded
}

type unloadedKey struct{}

// WatchUnloaded returns a context whose RollUp (on a store that waits for
// an intake log) reports into the note what it could not wait for.
func WatchUnloaded(ctx context.Context) (context.Context, *UnloadedNote) {
	n := &UnloadedNote{}
	return context.WithValue(ctx, unloadedKey{}, n), n
}

// NoteUnloaded records u in ctx's note, if it has one.
func NoteUnloaded(ctx context.Context, u Unloaded) {
	if n, ok := ctx.Value(unloadedKey{}).(*UnloadedNote); ok {
		n.mu.Lock()
		n.u = &u
		n.mu.Unlock()
	}
}

// Get is what was noted, nil when the answer missed nothing.
func (n *UnloadedNote) Get() *Unloaded {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.u
}
