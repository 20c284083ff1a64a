package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// A fixed end so that the tests do not depend on the clock.
var end = time.Date(2026, 5, 20, 15, 30, 0, 0, time.UTC)

// small is enough traffic for every behaviour, status and channel to
// occur; tiny keeps the tests that parse or store everything quick.
func small() demo.Options {
	return demo.Options{Seed: 7, Users: 600, Days: 7, End: end}
}

func tiny() demo.Options {
	return demo.Options{Seed: 7, Users: 150, Days: 7, End: end}
}

func all(t testing.TB, g *demo.Generator) []demo.Upload {
	t.Helper()
	var out []demo.Upload
	for {
		u, ok := g.Next()
		if !ok {
			return out
		}
		out = append(out, u)
	}
}

func TestDeterministic(t *testing.T) {
	a := all(t, demo.New(small()))
	b := all(t, demo.New(small()))
	if len(a) != len(b) {
		t.Fatalf("same seed: %d and %d uploads", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i].Body, b[i].Body) || a[i].Time != b[i].Time || a[i].Events != b[i].Events {
			t.Fatalf("same seed: upload %d differs", i)
		}
	}
	opt := small()
	opt.Seed = 8
	c := all(t, demo.New(opt))
	if len(c) > 0 && len(a) > 0 && bytes.Equal(a[0].Body, c[0].Body) {
		t.Errorf("another seed gave the same first upload")
	}
}

// envelope is how the SDK's events look on the wire.
type envelope struct {
	Type       string         `json:"type"`
	From       string         `json:"from"`
	TrackingID string         `json:"tracking_id"`
	LogID      *int64         `json:"log_id"`
	Props      map[string]any `json:"props"`
}

var (
	sdkIDPattern   = regexp.MustCompile(`^\d{13}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	gdtVidPattern  = regexp.MustCompile(`^wx[0-9a-z]{16}$`)
	adInfoPattern  = regexp.MustCompile(`^(\d{8,11})\.(wx[0-9a-z]{16})\.0\.0$`)
	openIDPattern  = regexp.MustCompile(`^o[0-9A-Za-z_-]{27}$`)
	orderIDPattern = regexp.MustCompile(`^SO\d{8}\d{8,}$`)
)

// TestUploadsLookLikeTheSDK checks every upload of a week against the wire
// format of spec (a): the envelope, ids, time order, batching, and that
// every behaviour, channel and order status occurs.
func TestUploadsLookLikeTheSDK(t *testing.T) {
	g := demo.New(small())
	ups := all(t, g)
	if len(ups) == 0 {
		t.Fatal("no uploads")
	}
	types := map[string]int{}
	statuses := map[string]int{}
	chanKeys := map[string]int{}
	scenes := map[float64]bool{}
	lastLog := map[string]int64{}
	var prev time.Time
	events := 0
	for i, up := range ups {
		if up.Time.Before(prev) {
			t.Fatalf("upload %d at %v is before the previous one at %v", i, up.Time, prev)
		}
		prev = up.Time
		if up.Time.After(end.Add(2 * time.Second)) {
			t.Fatalf("upload %d at %v is after End", i, up.Time)
		}
		var evs []envelope
		if err := json.Unmarshal(up.Body, &evs); err != nil {
			t.Fatalf("upload %d is not a JSON array: %v", i, err)
		}
		if len(evs) != up.Events || len(evs) == 0 || len(evs) > 10 {
			t.Fatalf("upload %d: %d events, Events says %d", i, len(evs), up.Events)
		}
		events += len(evs)
		for _, e := range evs {
			types[e.Type]++
			if e.From != "sr-sdk-wxapp" || !sdkIDPattern.MatchString(e.TrackingID) || e.LogID == nil {
				t.Fatalf("upload %d: bad envelope %+v", i, e)
			}
			if last, ok := lastLog[e.TrackingID]; ok && *e.LogID != last+1 {
				t.Fatalf("tracking_id %s: log_id %d after %d", e.TrackingID, *e.LogID, last)
			}
			lastLog[e.TrackingID] = *e.LogID
			ms, _ := e.Props["time"].(float64)
			if ms < float64(end.AddDate(0, 0, -8).UnixMilli()) || ms > float64(end.UnixMilli()) {
				t.Fatalf("event time %v outside the window", ms)
			}
			u, _ := e.Props["wx_user"].(map[string]any)
			if u["app_id"] != demo.WxAppID || !sdkIDPattern.MatchString(u["local_id"].(string)) {
				t.Fatalf("bad wx_user %v", u)
			}
			if o, ok := u["open_id"].(string); ok && !openIDPattern.MatchString(o) {
				t.Fatalf("bad open_id %q", o)
			}
			c, _ := e.Props["chan"].(map[string]any)
			for k := range c {
				chanKeys[k]++
			}
			scenes[c["chan_wxapp_scene"].(float64)] = true
			if v, ok := c["gdt_vid"].(string); ok && !gdtVidPattern.MatchString(v) {
				t.Fatalf("bad gdt_vid %q", v)
			}
			if v, ok := c["weixinadinfo"].(string); ok {
				m := adInfoPattern.FindStringSubmatch(v)
				if m == nil || m[2] != c["gdt_vid"] {
					t.Fatalf("bad weixinadinfo %q with gdt_vid %v", v, c["gdt_vid"])
				}
			}
			switch e.Type {
			case event.LeaveWxappPage:
				if _, ok := e.Props["stay_time"].(float64); !ok {
					t.Fatalf("leave_wxapp_page without stay_time: %v", e.Props)
				}
			case event.Search:
				if kw, _ := e.Props["keyword"].(string); kw == "" {
					t.Fatalf("search without keyword")
				}
			case event.CustomOrder:
				o := e.Props["order"].(map[string]any)
				statuses[o["order_status"].(string)]++
				if !orderIDPattern.MatchString(o["order_id"].(string)) {
					t.Fatalf("bad order id %v", o["order_id"])
				}
			}
		}
	}
	for _, b := range append(append([]string{}, event.Behaviours...), "element", "sdk_config_info") {
		if types[b] == 0 {
			t.Errorf("no %s event in %d", b, events)
		}
	}
	for _, s := range []string{"give_order", "pay", "payed", "cancel_pay", "cancel_give_order", "refund"} {
		if statuses[s] == 0 {
			t.Errorf("no custom_order with status %s", s)
		}
	}
	for _, k := range []string{"chan_id", "guide_id", "room_id", "gdt_vid", "weixinadinfo", "chan_shop_id",
		"chan_shop_name", "chan_custom", "chan_refer_app_id", "qz_gdt"} {
		if chanKeys[k] == 0 {
			t.Errorf("no chan.%s", k)
		}
	}
	if len(scenes) < 10 {
		t.Errorf("only %d scenes", len(scenes))
	}
	st := g.Stats()
	if st.Events != events || st.Uploads != len(ups) || st.Days != 7 || st.Users < 300 || st.Orders == 0 {
		t.Errorf("stats %+v, counted %d events in %d uploads", st, events, len(ups))
	}
}

// TestEveryUploadParses runs every generated event through the collector's
// decoding and validation: nothing may be quarantined.
func TestEveryUploadParses(t *testing.T) {
	g := demo.New(tiny())
	app := &tenant.App{ID: demo.AppID}
	n := 0
	for {
		up, ok := g.Next()
		if !ok {
			break
		}
		raws, err := collect.Decode(collect.Upload{App: app, Body: up.Body})
		if err != nil {
			t.Fatalf("upload %d: %v", n, err)
		}
		for _, raw := range raws {
			ev, err := event.Parse(raw)
			if err != nil {
				t.Fatalf("upload %d: %v in %s", n, err, raw)
			}
			if ev.Kind == event.KindUnknown || ev.UserKey == "" || ev.Time.IsZero() {
				t.Fatalf("upload %d: %+v", n, ev)
			}
		}
		n++
	}
}

func TestBatchEvents(t *testing.T) {
	opt := small()
	opt.BatchEvents = 10
	opt.Users = 200
	g := demo.New(opt)
	full, total := 0, 0
	for {
		up, ok := g.Next()
		if !ok {
			break
		}
		total++
		if up.Events == 10 {
			full++
		} else if up.Events > 10 {
			t.Fatalf("upload of %d events", up.Events)
		}
	}
	if full*10 < total*7 {
		t.Errorf("only %d of %d uploads have 10 events", full, total)
	}
}

func TestTargetEvents(t *testing.T) {
	opt := small()
	opt.TargetEvents = 40_000
	g := demo.New(opt)
	all(t, g)
	if n := g.Stats().Events; n < 34_000 || n > 46_000 {
		t.Errorf("asked for about 40000 events, got %d", n)
	}
}

func TestFill(t *testing.T) {
	st := storetest.Open(t)
	w := store.NewWriter(st, store.WriterOptions{})
	defer w.Close()
	app := &tenant.App{ID: demo.AppID, WxAppID: demo.WxAppID}
	ctx := context.Background()
	stats, err := demo.Fill(ctx, w, app, tiny())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Quarantined != 0 || stats.Duplicates != 0 || stats.Accepted != stats.Events || stats.Events == 0 {
		t.Fatalf("fill: %+v", stats)
	}
	q := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := st.DB().QueryRow(query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	if n := q(`SELECT count(*) FROM events WHERE app_id = ?`, demo.AppID); n != stats.Events {
		t.Errorf("stored %d events, generated %d", n, stats.Events)
	}
	if n := q(`SELECT count(DISTINCT user_key) FROM events`); n != stats.Users {
		t.Errorf("stored %d users, generated %d", n, stats.Users)
	}
	if n := q(`SELECT count(DISTINCT order_id) FROM events WHERE type = 'custom_order'`); n != stats.Orders {
		t.Errorf("stored %d orders, generated %d", n, stats.Orders)
	}
	if n := q(`SELECT count(DISTINCT order_id) FROM events WHERE order_status = 'payed'`); n != stats.PaidOrders {
		t.Errorf("stored %d paid orders, generated %d", n, stats.PaidOrders)
	}
	if n := q(`SELECT count(DISTINCT CAST(ts AT TIME ZONE 'Asia/Shanghai' AS DATE)) FROM events`); n != stats.Days {
		t.Errorf("stored %d days, generated %d", n, stats.Days)
	}
	for typ, want := range stats.Types {
		if n := q(`SELECT count(*) FROM events WHERE type = ?`, typ); n != want {
			t.Errorf("%s: stored %d, generated %d", typ, n, want)
		}
	}
	if n := q(`SELECT count(*) FROM events WHERE kind = 'behaviour' AND type IN ('` + strings.Join(event.Behaviours, "','") + `')`); n == 0 {
		t.Error("no behaviours stored")
	}
	if n := q(`SELECT count(*) FROM quarantine`); n != 0 {
		t.Errorf("%d quarantined", n)
	}
	// Ad clicks carry a click id the attribution can read.
	if n := q(`SELECT count(*) FROM events WHERE gdt_vid IS NOT NULL AND weixinadinfo LIKE '%.' || gdt_vid || '.0.0'`); n == 0 {
		t.Error("no ad clicks stored")
	}
	// Filling again with the same seed stores nothing new: SDK re-sends
	// are recognised.
	again, err := demo.Fill(ctx, w, app, tiny())
	if err != nil {
		t.Fatal(err)
	}
	if again.Accepted != 0 || again.Duplicates != stats.Events {
		t.Errorf("second fill: %+v", again)
	}
}

func BenchmarkGenerator(b *testing.B) {
	opt := demo.Options{Seed: 1, Users: 300_000, Days: 60, End: end, TargetEvents: 10_000_000, BatchEvents: 10}
	g := demo.New(opt)
	b.ResetTimer()
	events, bytes := 0, 0
	for range b.N {
		up, ok := g.Next()
		if !ok {
			g = demo.New(opt)
			continue
		}
		events += up.Events
		bytes += len(up.Body)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.SetBytes(int64(bytes / max(b.N, 1)))
}
