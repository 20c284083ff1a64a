package attribution_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
)

var t0 = time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)

const (
	click1 = "wx0ewinbalytptma00"
	click2 = "wx0vnret2znwpts4"
	click3 = "wx03uxqfwz22ubsa00"
)

type touches struct {
	t   *testing.T
	st  *duckdb.Store
	key int64
}

func newTouches(t *testing.T) *touches { return &touches{t: t, st: storetest.Open(t)} }

// ev is an event of user (open_id) at at, as event.Parse leaves it.
func (x *touches) ev(open, union string, at time.Time) event.Event {
	x.key++
	return event.Event{
		Type: event.BrowseWxappPage, Kind: event.KindBehaviour, Time: at, Key: x.key, UserKey: open,
		OpenID: open, UnionID: union, Page: "pages/index/index", Props: json.RawMessage(`{}`),
	}
}

func (x *touches) write(evs ...event.Event) {
	x.t.Helper()
	b := &store.EventBatch{AppID: "shop", ReceivedAt: t0, Events: evs}
	attribution.Resolve(b)
	if _, err := x.st.WriteEvents(context.Background(), []*store.EventBatch{b}); err != nil {
		x.t.Fatal(err)
	}
}

func (x *touches) last(u attribution.User, at time.Time, window time.Duration) (attribution.Touch, bool) {
	x.t.Helper()
	var got attribution.Touch
	var ok bool
	err := x.st.Transact(context.Background(), func(tx store.Tx) error {
		var err error
		got, ok, err = attribution.LastTouch(context.Background(), tx, "shop", u, at, window)
		return err
	})
	if err != nil {
		x.t.Fatal(err)
	}
	return got, ok
}

func TestLastTouchWins(t *testing.T) {
	x := newTouches(t)
	a := x.ev("o-alice", "", t0)
	a.GdtVid, a.AdInfo = click1, "20966864."+click1+".0.0"
	b := x.ev("o-alice", "", t0.Add(time.Hour))
	b.AdInfo = "3012345678." + click2 + ".0.1" // no gdt_vid: field 2 of weixinadinfo
	c := x.ev("o-alice", "", t0.Add(3*time.Hour))
	c.GdtVid = click3
	x.write(a, b, c)

	alice := attribution.User{OpenID: "o-alice"}
	got, ok := x.last(alice, t0.Add(2*time.Hour), 0)
	if !ok || got.ClickID != click2 || got.AdID != "3012345678" || !got.At.Equal(t0.Add(time.Hour)) {
		t.Errorf("at +2h: %+v %v, want click2 (the last touch before the conversion)", got, ok)
	}
	if got, _ := x.last(alice, t0.Add(3*time.Hour), 0); got.ClickID != click3 {
		t.Errorf("at +3h: %+v, want click3 (a touch at the very instant counts)", got)
	}
	if _, ok := x.last(alice, t0.Add(-time.Second), 0); ok {
		t.Error("a conversion before every touch was attributed")
	}
	if _, ok := x.last(attribution.User{OpenID: "o-bob"}, t0.Add(time.Hour), 0); ok {
		t.Error("another user's touch was credited")
	}
}

func TestTouchWindow(t *testing.T) {
	x := newTouches(t)
	e := x.ev("o-alice", "", t0)
	e.GdtVid = click1
	x.write(e)
	alice := attribution.User{OpenID: "o-alice"}
	if _, ok := x.last(alice, t0.Add(7*24*time.Hour), 0); !ok {
		t.Error("a touch exactly 7 days old is inside the default window")
	}
	if _, ok := x.last(alice, t0.Add(7*24*time.Hour+time.Second), 0); ok {
		t.Error("a touch older than the default 7 days was credited")
	}
	if _, ok := x.last(alice, t0.Add(2*time.Hour), time.Hour); ok {
		t.Error("a touch older than the app's 1 h window was credited")
	}
	if _, ok := x.last(alice, t0.Add(30*time.Minute), time.Hour); !ok {
		t.Error("a touch inside the app's 1 h window was not credited")
	}
}

func TestTouchTimeIsFirstSeen(t *testing.T) {
	x := newTouches(t)
	first := x.ev("o-alice", "", t0.Add(time.Hour))
	first.GdtVid = click1
	x.write(first)
	// SDK 2.x re-attaches the last click id to every later start: that is
	// the same touch, not a new one.
	again := x.ev("o-alice", "", t0.Add(48*time.Hour))
	again.GdtVid = click1
	// An upload that arrives late carries an earlier sighting.
	late := x.ev("o-alice", "", t0)
	late.GdtVid = click1
	x.write(again, late)
	got, ok := x.last(attribution.User{OpenID: "o-alice"}, t0.Add(72*time.Hour), 0)
	if !ok || !got.At.Equal(t0) {
		t.Errorf("touch %+v %v, want first seen at t0", got, ok)
	}
	var n int
	if err := x.st.DB().QueryRow(`SELECT count(*) FROM ad_touches`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d touches (%v), want 1", n, err)
	}
}

func TestTouchByUnionID(t *testing.T) {
	x := newTouches(t)
	// Before login the SDK knows no open_id, only (here) the union_id.
	e := x.ev("", "u-alice", t0)
	e.UserKey, e.GdtVid = "local-1", click1
	x.write(e)
	if got, ok := x.last(attribution.User{OpenID: "o-alice", UnionID: "u-alice"}, t0.Add(time.Hour), 0); !ok || got.ClickID != click1 {
		t.Errorf("by union_id: %+v %v", got, ok)
	}
	// Without either id there is nobody to keep a touch for.
	anon := x.ev("", "", t0)
	anon.UserKey, anon.LocalID, anon.GdtVid = "local-2", "local-2", click2
	x.write(anon)
	var n int
	if err := x.st.DB().QueryRow(`SELECT count(*) FROM ad_touches WHERE click_id = $1`, click2).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d touches of an anonymous user (%v), want 0", n, err)
	}
}

func TestMalformedClickIDsQuarantined(t *testing.T) {
	x := newTouches(t)
	short := x.ev("o-alice", "", t0)
	short.GdtVid = "wx0ab" // 5 characters: a misconfigured landing page
	short2 := x.ev("o-alice", "", t0.Add(time.Second))
	short2.GdtVid = "wx0ab" // the same value again in the batch: quarantined once
	alphabet := x.ev("o-bob", "", t0)
	alphabet.GdtVid = "wx0ewin!balytptma"
	info := x.ev("o-carol", "", t0)
	info.AdInfo = "20966864" // no click field
	good := x.ev("o-dave", "", t0)
	good.GdtVid, good.AdInfo = click1, "20966864."+click1+".0.0"
	fromPage := x.ev("o-erin", "", t0)
	fromPage.PageQry = "sku_id=1&gdt_vid=" + click2 + "&weixinadinfo=42." + click2 + ".0.0"
	null := x.ev("o-frank", "", t0)
	null.GdtVid = "undefined" // absent, not malformed
	b := &store.EventBatch{AppID: "shop", ReceivedAt: t0, Events: []event.Event{short, short2, alphabet, info, good, fromPage, null}}
	attribution.Resolve(b)
	res, err := x.st.WriteEvents(context.Background(), []*store.EventBatch{b})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Accepted != 7 {
		t.Errorf("accepted %d events, want all 7: a bad click id does not lose the visit", res[0].Accepted)
	}
	rows, err := x.st.DB().Query(`SELECT source, reason, raw FROM quarantine ORDER BY reason`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var reasons []string
	for rows.Next() {
		var src, reason, raw string
		if err := rows.Scan(&src, &reason, &raw); err != nil {
			t.Fatal(err)
		}
		if src != "attribution" || !json.Valid([]byte(raw)) {
			t.Errorf("quarantine row %q %q %q", src, reason, raw)
		}
		reasons = append(reasons, reason)
	}
	if len(reasons) != 3 {
		t.Fatalf("quarantined %d click ids, want 3: %q", len(reasons), reasons)
	}
	for _, want := range []string{"too short", "may only contain", "must be <ad id>.<click id>"} {
		if !strings.Contains(strings.Join(reasons, "\n"), want) {
			t.Errorf("no quarantine reason mentions %q: %q", want, reasons)
		}
	}
	got := map[string][2]string{}
	r2, err := x.st.DB().Query(`SELECT open_id, coalesce(click_id, ''), coalesce(ad_id, '') FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for r2.Next() {
		var o, c, a string
		if err := r2.Scan(&o, &c, &a); err != nil {
			t.Fatal(err)
		}
		got[o] = [2]string{c, a}
	}
	want := map[string][2]string{
		"o-alice": {"", ""}, "o-bob": {"", ""}, "o-carol": {"", ""}, "o-frank": {"", ""},
		"o-dave": {click1, "20966864"}, "o-erin": {click2, "42"},
	}
	for o, w := range want {
		if got[o] != w {
			t.Errorf("%s stored click/ad %q, want %q", o, got[o], w)
		}
	}
}
