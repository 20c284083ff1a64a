package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/postgres"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// everyQuestion is questions, and the analyses and parameters it leaves
// out: the backend-order analyses and every channel dimension.
func everyQuestion() []struct{ name, params string } {
	qs := append([]struct{ name, params string }{}, questions...)
	qs = append(qs, struct{ name, params string }{"orders", ""}, struct{ name, params string }{"reconciliation", ""},
		struct{ name, params string }{"official-account", "accounts=wxOA&articles=a1,a2"},
		struct{ name, params string }{"skus", "sort=gmv_fen&limit=3"})
	for _, d := range channelDimension.Options {
		qs = append(qs, struct{ name, params string }{"channels", "dimension=" + d})
	}
	return qs
}

// TestStoresAgree loads the same data into the embedded store and
// PostgreSQL and wants every analysis to answer the same JSON on both,
// from the roll-ups and from the raw events alike.
func TestStoresAgree(t *testing.T) {
	storetest.SkipWithoutPostgres(t)
	duck := fixtureOn(t, storetest.DuckDB)
	pg := fixtureOn(t, storetest.Postgres)
	compareRawAndRollup(t, pg, fixtureTenant, "2026-03-01", "2026-03-02")
	fillDemo(t, duck)
	fillDemo(t, pg)
	fillDemo(t, pg) // all duplicates
	compareRawAndRollup(t, pg, demoApp, "2026-03-02", "2026-03-04")
	for _, c := range []struct {
		app      string
		from, to string
	}{
		{fixtureApp, "2026-03-01", "2026-03-02"},
		{demoApp.ID, "2026-03-02", "2026-03-04"},
		{demoApp.ID, "2026-03-03", "2026-03-03"},
	} {
		app := fixtureTenant
		if c.app == demoApp.ID {
			app = demoApp
		}
		for _, qq := range everyQuestion() {
			for _, raw := range []bool{false, true} {
				a, err := askApp(duck, app, qq.name, c.from, c.to, qq.params, raw)
				if err != nil {
					t.Fatalf("duckdb %s?%s: %v", qq.name, qq.params, err)
				}
				b, err := askApp(pg, app, qq.name, c.from, c.to, qq.params, raw)
				if err != nil {
					t.Fatalf("postgres %s?%s: %v", qq.name, qq.params, err)
				}
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if string(ja) != string(jb) {
					t.Errorf("%s %s..%s %s?%s (raw %v): the stores differ\nduckdb:\n%s\npostgres:\n%s",
						c.app, c.from, c.to, qq.name, qq.params, raw, dump(a), dump(b))
				}
			}
		}
	}
}

// TestCopyKeepsAnswers copies an embedded store into PostgreSQL (shuyuan
// store copy) and wants every analysis, the outbox and the apps' state to
// read the same there; a second copy adds nothing.
func TestCopyKeepsAnswers(t *testing.T) {
	storetest.SkipWithoutPostgres(t)
	ctx := context.Background()
	duck := fixtureOn(t, storetest.DuckDB)
	fillDemo(t, duck)
	// Conversions in every state, app state and a nonce.
	var convs []store.Conversion
	for i := range 5 {
		convs = append(convs, store.Conversion{ID: fmt.Sprint("c", i), AppID: "shop", Kind: "order", RefID: fmt.Sprint("o", i),
			ActionType: "COMPLETE_ORDER", Source: "backend", OpenID: "oA", OccurredAt: at("2026-03-01 10:00:00").UTC(),
			ValueFen: 100, ClickID: "wx0click1", Payload: "{}", Status: store.ConversionPending,
			CreatedAt: at("2026-03-01 10:00:01").UTC(), NextAttemptAt: at("2026-03-01 10:00:01").UTC()})
	}
	if err := duck.Transact(ctx, func(tx store.Tx) error { _, err := tx.AddConversions(ctx, convs); return err }); err != nil {
		t.Fatal(err)
	}
	now := at("2026-03-01 11:00:00").UTC()
	claimed, _ := duck.ClaimConversions(ctx, "shop", "node", now, time.Hour, 3)
	if _, err := duck.SettleConversions(ctx, "node", now, []store.Settlement{
		{IDs: []string{claimed[0].ID}, Status: store.ConversionDelivered},
		{IDs: []string{claimed[1].ID}, Status: store.ConversionDead, Err: "refused", Class: "permanent"}}); err != nil {
		t.Fatal(err)
	}
	if err := duck.SetAppState(ctx, "shop", "user_action_set_id", "1111", now); err != nil {
		t.Fatal(err)
	}
	if _, err := duck.UseNonce(ctx, "ys-app", "n1", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	pg := storetest.OpenPostgres(t)
	if err := pg.CopyFrom(ctx, duck.DB(), postgres.CopyOptions{Chunk: 500}); err != nil {
		t.Fatal(err)
	}
	compare := func(when string) {
		t.Helper()
		for _, c := range []struct {
			app      *tenant.App
			from, to string
		}{{fixtureTenant, "2026-03-01", "2026-03-02"}, {demoApp, "2026-03-02", "2026-03-04"}} {
			for _, qq := range everyQuestion() {
				a, err := askApp(duck, c.app, qq.name, c.from, c.to, qq.params, false)
				if err != nil {
					t.Fatal(err)
				}
				b, err := askApp(pg, c.app, qq.name, c.from, c.to, qq.params, false)
				if err != nil {
					t.Fatal(err)
				}
				if ja, jb := mustJSON(a), mustJSON(b); ja != jb {
					t.Errorf("%s: %s %s?%s differs\nembedded:\n%s\npostgres:\n%s", when, c.app.ID, qq.name, qq.params, dump(a), dump(b))
				}
			}
		}
		for _, app := range []string{fixtureTenant.ID, demoApp.ID} { // the fixture has custom types
			ua, _ := duck.UnknownTypes(ctx, app)
			ub, err := pg.UnknownTypes(ctx, app)
			if err != nil || !reflect.DeepEqual(ua, ub) || (app == fixtureTenant.ID && len(ua) == 0) {
				t.Errorf("%s: event types of unknown kind of %s differ (%v)\n%v\n%v", when, app, err, ua, ub)
			}
		}
		la, _ := duck.ListConversions(ctx, "shop", "", 10)
		lb, _ := pg.ListConversions(ctx, "shop", "", 10)
		if !reflect.DeepEqual(la, lb) || len(la) != 5 {
			t.Errorf("%s: outbox differs\n%+v\n%+v", when, la, lb)
		}
		if v, ok, _ := pg.AppState(ctx, "shop", "user_action_set_id"); v != "1111" || !ok {
			t.Errorf("%s: app state %q %v", when, v, ok)
		}
		if fresh, _ := pg.UseNonce(ctx, "ys-app", "n1", now, now.Add(time.Hour)); fresh {
			t.Errorf("%s: a used nonce is fresh after the copy", when)
		}
	}
	compare("after the copy")
	events := storetest.Count(t, pg, `SELECT count(*) FROM events`)
	if err := pg.CopyFrom(ctx, duck.DB(), postgres.CopyOptions{}); !errors.Is(err, postgres.ErrNotEmpty) {
		t.Fatalf("a copy into a full database: %v", err)
	}
	if err := pg.CopyFrom(ctx, duck.DB(), postgres.CopyOptions{AllowNonEmpty: true}); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, pg, `SELECT count(*) FROM events`); n != events {
		t.Fatalf("the second copy added events: %d, was %d", n, events)
	}
	compare("after a second copy")
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestOrderRollupLateEvents stores an order's payment first and the event
// that placed it (earlier, in another session) only after the roll-ups
// have taken the payment (both added to the fixture): PostgreSQL's
// rollup_orders must be computed again from both, and every analysis must
// read from the roll-ups what it reads from the raw events, for a range
// holding the whole order, for one ending between its two events, and for
// one between the two events of another order (O8), which it must not
// count.
func TestOrderRollupLateEvents(t *testing.T) {
	storetest.SkipWithoutPostgres(t)
	pg := fixtureOn(t, storetest.Postgres)
	late := []session{
		{"tL2", userA, chanA2, []sdkEvent{
			{"app_show", "2026-03-02 10:00:00", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
			{"custom_order", "2026-03-02 10:00:10", order("O9", "payed", "80")},
		}},
		{"tL1", userB, chanA1, []sdkEvent{
			{"app_launch", "2026-03-01 09:00:00", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
			{"custom_order", "2026-03-01 09:00:10", order("O9", "give_order", "80")},
		}},
		// O8 is placed before 03-02 and paid after it: a range of 03-02
		// alone sees neither, though the order spans its end.
		{"tL3", userA, chanA1, []sdkEvent{
			{"app_show", "2026-03-01 08:00:00", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
			{"custom_order", "2026-03-01 08:00:10", order("O8", "give_order", "70")},
		}},
		{"tL4", userA, chanA1, []sdkEvent{
			{"app_show", "2026-03-03 08:00:00", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
			{"custom_order", "2026-03-03 08:00:10", order("O8", "payed", "70")},
		}},
	}
	for _, s := range late {
		writeAndRollUp(t, pg, []session{s})
	}
	var placer, payer, chanID string
	if err := pg.DB().QueryRow(`SELECT placer, payer, chan_id FROM rollup_orders WHERE order_id = 'O9'`).Scan(&placer, &payer, &chanID); err != nil {
		t.Fatal(err)
	}
	if placer != "oB" || payer != "oA" || chanID != "mp_1" {
		t.Errorf("rollup_orders O9: placer %q payer %q chan %q, want oB, oA, mp_1 (the placing event's)", placer, payer, chanID)
	}
	compareRawAndRollup(t, pg, fixtureTenant, "2026-03-01", "2026-03-02")
	compareRawAndRollup(t, pg, fixtureTenant, "2026-03-01", "2026-03-01")
	// The roll-ups read O8's events for 03-02 (it spans the range's end),
	// and must find it neither placed nor paid then.
	var spans bool
	if err := pg.DB().QueryRow(`SELECT placed_at < '2026-03-02 00:00:00+08' AND last_ts >= '2026-03-03 00:00:00+08'
		FROM rollup_orders WHERE order_id = 'O8'`).Scan(&spans); err != nil || !spans {
		t.Fatalf("rollup_orders O8 should span 03-02: %v, %v", spans, err)
	}
	compareRawAndRollup(t, pg, fixtureTenant, "2026-03-02", "2026-03-02")
}

// TestDayCountsLateEvents delivers a new user's hours out of order, each
// hour rolled up before the next arrives: PostgreSQL's day counts
// (rollup_gaps) must move the count of an hour already rolled up when an
// earlier hour of the same day arrives after it, and the analyses must
// read from the roll-ups what they read from the raw events.
func TestDayCountsLateEvents(t *testing.T) {
	storetest.SkipWithoutPostgres(t)
	pg := fixtureOn(t, storetest.Postgres)
	const (
		userE  = `{"app_id":"wx1","local_id":"lE","open_id":"oE"}`
		home   = `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`
		search = `"page":"pages/search/index","page_title":"Search","keyword":"Lychee"`
	)
	late := []session{
		{"tE1", userE, chanA1, []sdkEvent{{"browse_wxapp_page", "2026-03-01 20:10:00", home}}},
		// Earlier the same day: the 20:00 hour no longer starts userE's day.
		{"tE2", userE, chanA1, []sdkEvent{{"browse_wxapp_page", "2026-03-01 18:05:00", home}, {"search", "2026-03-01 18:06:00", search}}},
		{"tE3", userE, chanA1, []sdkEvent{{"browse_wxapp_page", "2026-03-02 01:00:00", home}, {"search", "2026-03-02 01:01:00", search}}},
		// Between the last hour of one day and the first of the next.
		{"tE4", userE, chanA1, []sdkEvent{{"browse_wxapp_page", "2026-03-01 23:30:00", home}, {"search", "2026-03-01 23:31:00", search}}},
		// The first hour of the next day, before the 01:00 one: that one's
		// gap becomes 1, its hours into the day, and it no longer counts.
		{"tE5", userE, chanA1, []sdkEvent{{"browse_wxapp_page", "2026-03-02 00:10:00", home}}},
	}
	before := ask(t, pg, "overview", "2026-03-01", "2026-03-02", "")
	for _, s := range late {
		writeAndRollUp(t, pg, []session{s})
	}
	after := ask(t, pg, "overview", "2026-03-01", "2026-03-02", "")
	for _, c := range []struct {
		day                           string
		visitors, sessions, searchers int64
	}{{"2026-03-01", 1, 3, 1}, {"2026-03-02", 1, 2, 1}} {
		b, a := row(t, before, c.day), row(t, after, c.day)
		for col, n := range map[string]int64{"visitors": c.visitors, "sessions": c.sessions, "searchers": c.searchers} {
			if got := a[col].(int64) - b[col].(int64); got != n {
				t.Errorf("overview %s: %s went up by %d, want %d", c.day, col, got, n)
			}
		}
	}
	compareRawAndRollup(t, pg, fixtureTenant, "2026-03-01", "2026-03-02")
	compareRawAndRollup(t, pg, fixtureTenant, "2026-03-02", "2026-03-02")
	checkPresences(t, pg)
}

// writeAndRollUp stores sessions as writeSessions does and rolls them up
// at once, so that what the test writes next arrives after them.
func writeAndRollUp(t *testing.T, pg store.Store, sessions []session) {
	t.Helper()
	writeSessions(t, pg, sessions)
	if err := pg.RollUp(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// checkPresences holds PostgreSQL's presences, rolled up a slice at a
// time, to what computing every gap at once gives (capped at 25 hours for
// the day populations, 32767 for the range ones), and rollup_gaps to
// their count per hour and gap.
func checkPresences(t *testing.T, pg store.Store) {
	t.Helper()
	if n := storetest.Count(t, pg, `SELECT count(*) FROM (
		SELECT gap, CAST(least(c, coalesce(extract(epoch FROM hour - lag(hour) OVER (PARTITION BY app_id, pop, dim, key ORDER BY hour)) / 3600, c)) AS smallint) AS want
		FROM (SELECT *, CASE WHEN pop < 6 THEN 25 ELSE 32767 END AS c FROM rollup_presence) p) x
		WHERE gap <> want`); n != 0 {
		t.Errorf("%d presences whose gap is not the hours since the one before", n)
	}
	if n := storetest.Count(t, pg, `SELECT count(*)
		FROM (SELECT app_id, pop, dim, hour, gap, count(*) AS n FROM rollup_presence GROUP BY 1, 2, 3, 4, 5) a
		FULL JOIN (SELECT * FROM rollup_gaps WHERE n <> 0) b USING (app_id, pop, dim, hour, gap)
		WHERE a.n IS DISTINCT FROM b.n`); n != 0 {
		t.Errorf("%d rows of rollup_gaps that do not count the presences", n)
	}
	if n := storetest.Count(t, pg, `SELECT count(DISTINCT pop) FROM rollup_presence`); n != 19 {
		t.Errorf("presences of %d populations, want all 19", n)
	}
}

// PostgreSQL's SKU range counts (store/postgres migration 0014) hold when
// one user's SKU hours arrive out of order and far apart: a late hour
// more than a day before the first shortens the gap of the presence after
// it, which must then no longer count in a range holding both.
func TestSkuRangeCountsLateEvents(t *testing.T) {
	storetest.SkipWithoutPostgres(t)
	pg := fixtureOn(t, storetest.Postgres)
	const (
		userF  = `{"app_id":"wx1","local_id":"lF","open_id":"oF"}`
		detail = `"page":"pages/goods/detail?sku_id=S1","page_title":"Detail",`
		cart   = detail + `"action_type":"append_to_cart","sku_num":1,`
	)
	late := []session{
		{"tF1", userF, chanA2, []sdkEvent{{"expose_sku_component", "2026-03-02 22:00:00", detail + skuS1}, {"add_to_cart", "2026-03-02 22:01:00", cart + skuS1}}},
		// 44 hours before: beyond the day counts' 25-hour cap.
		{"tF2", userF, chanA2, []sdkEvent{{"expose_sku_component", "2026-03-01 02:00:00", detail + skuS1}}},
		{"tF3", userF, chanA2, []sdkEvent{{"add_to_cart", "2026-03-02 21:00:00", cart + skuS1}}},
		{"tF4", userF, chanA2, []sdkEvent{{"expose_sku_component", "2026-03-01 03:00:00", detail + skuS1}}},
	}
	ranges := []struct {
		from, to        string
		exposed, carted int64
	}{{"2026-03-01", "2026-03-02", 1, 1}, {"2026-03-02", "2026-03-02", 1, 1}, {"2026-03-01", "2026-03-01", 1, 0}}
	before := make([]*Result, len(ranges))
	for i, r := range ranges {
		before[i] = ask(t, pg, "skus", r.from, r.to, "")
	}
	for _, s := range late {
		writeAndRollUp(t, pg, []session{s})
	}
	for i, r := range ranges {
		after := ask(t, pg, "skus", r.from, r.to, "")
		b, a := row(t, before[i], "S1"), row(t, after, "S1")
		for col, n := range map[string]int64{"exposure_users": r.exposed, "cart_users": r.carted} {
			if got := a[col].(int64) - b[col].(int64); got != n {
				t.Errorf("skus %s..%s: %s went up by %d, want %d", r.from, r.to, col, got, n)
			}
		}
		compareRawAndRollup(t, pg, fixtureTenant, r.from, r.to)
	}
	checkPresences(t, pg)
}

// PostgreSQL's presences and their counts hold whatever order the hours
// arrive in and however they are cut into roll-up slices: random hours of
// three users' page views, searches, SKU exposures and adds to cart, from
// four channels, over three days, delivered shuffled in batches of random
// size, each rolled up before the next.
func TestPresencesAnyOrder(t *testing.T) {
	storetest.SkipWithoutPostgres(t)
	users := []string{
		`{"app_id":"wx1","local_id":"lR1","open_id":"oR1"}`,
		`{"app_id":"wx1","local_id":"lR2","open_id":"oR2"}`,
		`{"app_id":"wx1","local_id":"lR3"}`,
	}
	kinds := []sdkEvent{
		{"browse_wxapp_page", "", `"page":"pages/index/index","page_title":"Home"`},
		{"browse_wxapp_page", "", `"page":"pages/search/index","page_title":"Search"`},
		{"search", "", `"page":"pages/search/index","page_title":"Search","keyword":"Lychee"`},
		{"expose_sku_component", "", `"page":"pages/search/index","page_title":"Search",` + skuS1},
		{"expose_sku_component", "", `"page":"pages/search/index","page_title":"Search",` + skuS2},
		{"add_to_cart", "", `"page":"pages/goods/detail?sku_id=S1","page_title":"Detail","action_type":"append_to_cart","sku_num":1,` + skuS1},
	}
	// Channel values for the channels' range counts, none (chanA3) among them.
	chans := []string{chanA1, chanA2, chanA3, chanD1}
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			pg := fixtureOn(t, storetest.Postgres)
			rng := rand.New(rand.NewSource(seed))
			var sessions []session
			for i := 0; i < 60; i++ {
				k := kinds[rng.Intn(len(kinds))]
				k.time = fmt.Sprintf("2026-03-%02d %02d:%02d:00", 1+rng.Intn(3), rng.Intn(24), rng.Intn(60))
				sessions = append(sessions, session{fmt.Sprintf("tR%d-%d", seed, i), users[rng.Intn(len(users))], chans[rng.Intn(len(chans))], []sdkEvent{k}})
			}
			for len(sessions) > 0 {
				n := min(1+rng.Intn(8), len(sessions))
				writeAndRollUp(t, pg, sessions[:n])
				sessions = sessions[n:]
			}
			checkPresences(t, pg)
			for _, r := range [][2]string{{"2026-03-01", "2026-03-03"}, {"2026-03-02", "2026-03-02"}, {"2026-03-02", "2026-03-03"}} {
				compareRawAndRollup(t, pg, fixtureTenant, r[0], r[1])
			}
		})
	}
}

// PostgreSQL's rollup_searches (store/postgres migration 0015) gives
// search's answer whatever order a session's searches and SKU clicks
// arrive in: a late search takes the clicks after it from the search
// before, and a click after the range's end does not count. Six sessions
// across a local midnight, their events shuffled into uploads of random
// size, each rolled up before the next, three seeds.
func TestSearchesAnyOrder(t *testing.T) {
	storetest.SkipWithoutPostgres(t)
	keywords := []string{"Lychee", " lychee ", "Durian", "Mango"}
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			pg := fixtureOn(t, storetest.Postgres)
			rng := rand.New(rand.NewSource(seed))
			type upload struct {
				s session
				i int
			}
			var all []upload
			for k := 0; k < 6; k++ {
				s := session{fmt.Sprintf("tS%d-%d", seed, k), fmt.Sprintf(`{"app_id":"wx1","local_id":"lS%d","open_id":"oS%d"}`, k%4, k%4), chanA2, nil}
				// Distinct minutes from 2026-03-02 22:00 to 03-03 02:00 (Asia/Shanghai).
				for _, m := range rng.Perm(240)[:8] {
					when := at("2026-03-02 22:00:00").Add(time.Duration(m) * time.Minute).Format("2006-01-02 15:04:05")
					e := sdkEvent{"trigger_sku_component", when, `"page":"pages/search/index","page_title":"Search",` + skuS1}
					if rng.Intn(2) == 0 {
						e = sdkEvent{"search", when, fmt.Sprintf(`"page":"pages/search/index","page_title":"Search","keyword":%q`, keywords[rng.Intn(len(keywords))])}
					}
					s.events = append(s.events, e)
				}
				for i := range s.events {
					all = append(all, upload{s, i})
				}
			}
			rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			w := store.NewWriter(pg, store.WriterOptions{})
			defer w.Close()
			for len(all) > 0 {
				n := min(1+rng.Intn(5), len(all))
				for _, u := range all[:n] {
					writeUpload(t, w, u.s, []int{u.i})
				}
				all = all[n:]
				if err := pg.RollUp(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if n := storetest.Count(t, pg, `SELECT count(*) FROM rollup_searches WHERE first_click IS NOT NULL`); n == 0 {
				t.Fatal("no search followed by a click: the test proves nothing")
			}
			compareRawAndRollup(t, pg, fixtureTenant, "2026-03-02", "2026-03-02")
			compareRawAndRollup(t, pg, fixtureTenant, "2026-03-01", "2026-03-03")
			// 03-03 holds only these sessions' hours after midnight.
			rolled, err := askApp(pg, fixtureTenant, "search", "2026-03-03", "2026-03-03", "", false)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := askApp(pg, fixtureTenant, "search", "2026-03-03", "2026-03-03", "", true)
			if err != nil {
				t.Fatal(err)
			}
			if len(rolled.Rows) == 0 || !reflect.DeepEqual(rolled.Rows, raw.Rows) {
				t.Errorf("search 03-03: roll-ups and raw scan differ\nroll-ups:\n%s\nraw:\n%s", dump(rolled), dump(raw))
			}
		})
	}
}
