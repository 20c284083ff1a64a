package analysis

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// questions asks every analysis of this package a few ways.
var questions = []struct{ name, params string }{
	{"overview", ""},
	{"totals", ""},
	{"funnel", ""},
	{"funnel", "by=guide_id"},
	{"funnel", "by=room_id&window=2h"},
	{"funnel", "by=ad_id"},
	{"funnel", "by=store_id&steps=expose_sku_component,trigger_sku_component,browse_sku_page,add_to_cart,custom_order:give_order,custom_order:payed"},
	{"funnel", "by=chan_id&steps=search,trigger_sku_component"},
	{"funnel", "window=90s"},
	{"funnel", "steps=browse_wxapp_page,browse_wxapp_page,browse_wxapp_page&window=7s"},
	{"funnel", "steps=app_launch"},
	{"retention", ""},
	{"skus", ""},
	{"skus", "sort=exposure_users&limit=5"},
	{"skus", "sort=cart_users"},
	{"search", ""},
	{"channels", ""},
	{"guides", ""},
	{"live", ""},
	{"stores", ""},
	{"official-account", "accounts=wxOA"},
	{"events", ""},
	{"ads", ""},
	{"pages", ""},
	{"articles", ""},
	{"wechat-visits", ""},
}

// compareRawAndRollup asks every question twice, from the roll-ups and
// from a scan of the raw events, and wants the same rows.
func compareRawAndRollup(t *testing.T, st store.Store, app *tenant.App, from, to string) {
	t.Helper()
	for _, qq := range questions {
		rolled, err := askApp(st, app, qq.name, from, to, qq.params, false)
		if err != nil {
			t.Fatalf("%s?%s: %v", qq.name, qq.params, err)
		}
		raw, err := askApp(st, app, qq.name, from, to, qq.params, true)
		if err != nil {
			t.Fatalf("%s?%s raw: %v", qq.name, qq.params, err)
		}
		// The hand-made fixture has no ad clicks (ads_test.go has its own);
		// every other question must have rows to compare.
		if len(rolled.Rows) == 0 && (qq.name != "ads" || app != fixtureTenant) {
			t.Errorf("%s?%s: no rows", qq.name, qq.params)
		}
		if !reflect.DeepEqual(rolled.Rows, raw.Rows) {
			t.Errorf("%s?%s: roll-ups and raw scan differ\nroll-ups:\n%s\nraw:\n%s", qq.name, qq.params, dump(rolled), dump(raw))
		}
	}
}

// askPortable asks as askApp does, reading the SQL files shared with
// PostgreSQL whatever the store.
func askPortable(st store.Store, app *tenant.App, name, from, to, params string) (*Result, error) {
	vals, err := url.ParseQuery(params)
	if err != nil {
		return nil, err
	}
	q, err := ParseQuery(app, from, to, vals)
	if err != nil {
		return nil, err
	}
	q.portable = true
	a, ok := Get(name)
	if !ok {
		return nil, fmt.Errorf("no analysis %q", name)
	}
	return a.Run(context.Background(), st, q)
}

func askApp(st store.Store, app *tenant.App, name, from, to, params string, raw bool) (*Result, error) {
	saved := fixtureTenant
	defer func() { fixtureTenant = saved }()
	fixtureTenant = app
	return askErr(st, name, from, to, params, raw)
}

// demoApp is the demo generator's app, days cut in Shanghai.
var demoApp = &tenant.App{ID: demo.AppID, Name: demo.AppName, WxAppID: demo.WxAppID, SDKToken: demo.SDKToken, Location: shanghai}

// fillDemo stores a few days of generated traffic through a writer that
// commits small flushes, so that the roll-ups hold many partial rows.
func fillDemo(t *testing.T, st store.Store) {
	t.Helper()
	w := store.NewWriter(st, store.WriterOptions{MaxEvents: 1000})
	defer w.Close()
	stats, err := demo.Fill(context.Background(), w, demoApp, demo.Options{
		Seed: 5, Days: 3, Users: 250, End: at("2026-03-04 23:00:00"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Events < 1000 || stats.PaidOrders == 0 {
		t.Fatalf("demo traffic too thin: %+v", stats)
	}
}

func TestRollupsMatchRawScan(t *testing.T) {
	st := fixture(t)
	compareRawAndRollup(t, st, fixtureTenant, "2026-03-01", "2026-03-02")
	fillDemo(t, st)
	fillDemo(t, st) // all duplicates: the roll-ups must not count them again
	compareRawAndRollup(t, st, demoApp, "2026-03-02", "2026-03-04")
	compareRawAndRollup(t, st, demoApp, "2026-03-03", "2026-03-03")

	// A rebuild (another roll-up version, or another DuckDB) recomputes
	// the same roll-ups from the events.
	before := map[string]*Result{}
	for _, qq := range questions {
		before[qq.name+"?"+qq.params], _ = askApp(st, demoApp, qq.name, "2026-03-02", "2026-03-04", qq.params, false)
	}
	if _, err := st.DB().Exec(`DELETE FROM rollup_state`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.(*duckdb.Store).Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, qq := range questions {
		after, err := askApp(st, demoApp, qq.name, "2026-03-02", "2026-03-04", qq.params, false)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before[qq.name+"?"+qq.params].Rows, after.Rows) {
			t.Errorf("%s?%s: rebuilt roll-ups differ", qq.name, qq.params)
		}
	}
}

// TestPortableSQL runs the SQL files shared with PostgreSQL, without the
// DuckDB overrides, on DuckDB: both must give the same figures.
func TestPortableSQL(t *testing.T) {
	st := fixture(t)
	fillDemo(t, st)
	for _, app := range []*tenant.App{fixtureTenant, demoApp} {
		from, to := "2026-03-01", "2026-03-02"
		if app == demoApp {
			from, to = "2026-03-02", "2026-03-04"
		}
		for _, qq := range questions {
			native, err := askApp(st, app, qq.name, from, to, qq.params, false)
			if err != nil {
				t.Fatal(err)
			}
			portable, err := askPortable(st, app, qq.name, from, to, qq.params)
			if err != nil {
				t.Fatalf("%s?%s: %v", qq.name, qq.params, err)
			}
			if !reflect.DeepEqual(native.Rows, portable.Rows) {
				t.Errorf("%s %s?%s: portable SQL differs\nduckdb:\n%s\nportable:\n%s", app.ID, qq.name, qq.params, dump(native), dump(portable))
			}
		}
	}
}

// TestHalfHourZone cuts days in Asia/Kolkata (UTC+5:30): the roll-ups'
// hours do not fit, so the analyses scan the events in quarter hours.
func TestHalfHourZone(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Skip("no Asia/Kolkata zone:", err)
	}
	st := fixture(t)
	app := &tenant.App{ID: fixtureApp, Location: kolkata}
	res, err := askApp(st, app, "overview", "2026-03-01", "2026-03-02", "", false)
	if err != nil {
		t.Fatal(err)
	}
	// Kolkata is 2h30 behind Shanghai: all of tB1 (21:29:50..21:30:09)
	// falls on 03-01; on 03-02 A (06:30), C (09:30) and D (11:30).
	want(t, "03-01", row(t, res, "2026-03-01"), map[string]any{"visitors": 2, "sessions": 2, "new_visitors": 2, "stay_ms": 45000})
	want(t, "03-02", row(t, res, "2026-03-02"), map[string]any{"visitors": 3, "sessions": 3, "new_visitors": 1, "stay_ms": 30000})
}

func init() {
	// The demo app and the fixture app differ; make a mix-up loud.
	if demoApp.ID == fixtureApp {
		panic(fmt.Sprintf("demo app id %q is the fixture's", demoApp.ID))
	}
}

// chan_custom levels sent without a chan_custom_id: the roll-ups read the
// levels only of events that name an id, and the raw scan (which answers
// for zones a half hour from UTC) must read them alike, on both stores.
func TestChanCustomLevelsWithoutID(t *testing.T) {
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			st := fixtureOn(t, o)
			writeSessions(t, st, []session{{"tL1", userB,
				`{"chan_wxapp_scene":1001,"chan_custom":{"chan_custom_cat_1":"owned","chan_custom_cat_2":"content"}}`,
				[]sdkEvent{{"browse_wxapp_page", "2026-03-01 10:00:00", `"page":"pages/index/index","page_title":"Home"`}}}})
			compareRawAndRollup(t, st, fixtureTenant, "2026-03-01", "2026-03-02")
		})
	}
}
