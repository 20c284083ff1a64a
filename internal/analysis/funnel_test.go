package analysis

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
)

// TestFunnel runs on both stores: each finds the chains its own way
// (DuckDB with ASOF joins, PostgreSQL with time buckets).
func TestFunnel(t *testing.T) {
	storetest.Each(t, testFunnel)
}

func testFunnel(t *testing.T, o storetest.Opener) {
	st := fixtureOn(t, o)
	steps := func(res *Result) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, r := range res.Rows {
			m := map[string]any{}
			for i, c := range res.Columns {
				m[c.Name] = r[i]
			}
			out = append(out, m)
		}
		return out
	}

	// Default steps. browse_sku_page: A (03-01 10:00:40) and D (03-02
	// 14:00:10). add_to_cart after it within a day: A only (C added to
	// cart without a detail view). custom_order payed: A's O1, paid the
	// next morning in another session, 22h59m after the add.
	res := ask(t, st, "funnel", "2026-03-01", "2026-03-02", "")
	got := steps(res)
	if len(got) != 3 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	want(t, "step 1", got[0], map[string]any{"step": 1, "name": "browse_sku_page", "users": 2, "conversion": 1.0, "step_conversion": nil})
	want(t, "step 2", got[1], map[string]any{"step": 2, "name": "add_to_cart", "users": 1, "conversion": 0.5, "step_conversion": 0.5})
	want(t, "step 3", got[2], map[string]any{"step": 3, "name": "custom_order:payed", "users": 1, "conversion": 0.5, "step_conversion": 1.0})

	// A 12-hour window loses A's payment (22h59m after the add).
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "window=12h"))
	want(t, "12h step 3", got[2], map[string]any{"users": 0, "conversion": 0.0, "step_conversion": 0.0})

	// By guide: A's detail view carried G1, D's no guide.
	res = ask(t, st, "funnel", "2026-03-01", "2026-03-02", "by=guide_id")
	if len(res.Rows) != 6 {
		t.Fatalf("by guide rows:\n%s", dump(res))
	}
	want(t, "G1 step 3", row(t, res, "G1", 3), map[string]any{"users": 1, "conversion": 1.0})
	want(t, "no guide step 1", row(t, res, nil, 1), map[string]any{"users": 1})
	want(t, "no guide step 2", row(t, res, nil, 2), map[string]any{"users": 0, "step_conversion": 0.0})

	// Launch, then an order placed: A (tA1), B (tB1, 9 s before midnight)
	// and C; D's visit in the range began with app_show.
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=app_launch,custom_order:give_order"))
	want(t, "launch", got[0], map[string]any{"users": 3})
	want(t, "placed", got[1], map[string]any{"users": 3, "conversion": 1.0})

	// Only 03-02: B's launch (03-01 23:59:50) is outside, C's counts.
	got = steps(ask(t, st, "funnel", "2026-03-02", "2026-03-02", "steps=app_launch,custom_order:give_order"))
	want(t, "03-02 launch", got[0], map[string]any{"users": 1})

	// A search followed by a SKU click: A and C. A cart removal is not an
	// add: C's cart step counts once, through the append.
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=search,trigger_sku_component,add_to_cart"))
	want(t, "search", got[0], map[string]any{"users": 2})
	want(t, "click", got[1], map[string]any{"users": 2})
	want(t, "cart", got[2], map[string]any{"users": 2})
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=add_to_cart:remove_from_cart"))
	want(t, "removal", got[0], map[string]any{"users": 1})

	// The same type twice needs two events in order: only A shared once
	// and nobody twice; A viewed two pages (03-01 and 03-02) within a day.
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=browse_wxapp_page,browse_wxapp_page"))
	want(t, "page twice", got[1], map[string]any{"users": 1})

	// A's cart add came 10 s after the detail view (10:00:40, 10:00:50):
	// within a window of exactly 10 s, not of 9 s. Windows of 10 s and 20 s
	// put the two in adjacent buckets and in one; 9 s and 11 s cut them
	// elsewhere.
	for _, c := range []struct {
		window string
		users  int
	}{{"9s", 0}, {"10s", 1}, {"11s", 1}, {"20s", 1}, {"1s", 0}} {
		got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=browse_sku_page,add_to_cart&window="+c.window))
		want(t, "window "+c.window, got[1], map[string]any{"users": c.users})
	}
	// One step: the users with its events.
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=browse_sku_page"))
	if len(got) != 1 {
		t.Fatalf("one step: %v", got)
	}
	want(t, "one step", got[0], map[string]any{"users": 2, "conversion": 1.0})
}

func TestFunnelBadRequest(t *testing.T) {
	st := fixture(t)
	for _, p := range []string{
		"steps=" + strings.Repeat("search,", 10) + "search",
		"steps=search,,add_to_cart",
		"window=abc",
		"window=0s",
		"window=100d",
		"by=user",
	} {
		_, err := askErr(st, "funnel", "2026-03-01", "2026-03-02", p, false)
		var bad *BadRequest
		if !errors.As(err, &bad) {
			t.Errorf("%s: %v, want a BadRequest", p, err)
		}
	}
}

// TestFunnelRandomChains checks the two ways of finding chains against
// each other on random traffic: DuckDB's ASOF joins (funnel.duckdb.sql)
// and the time buckets of PostgreSQL's funnel.sql, run on DuckDB and, with
// SHUYUAN_TEST_POSTGRES, on PostgreSQL. Events come 0-20 s apart in steps
// of 5 s, so many pairs lie exactly a window apart or at the same instant,
// and some users have many events in one hour; pauses of minutes spread a
// user's events of a type over their hour.
func TestFunnelRandomChains(t *testing.T) {
	sessions := randomFunnelSessions(rand.New(rand.NewSource(7)))
	duck := storetest.DuckDB.Open(t)
	writeSessions(t, duck, sessions)
	var pg store.Store
	if storetest.PostgresDSN() != "" {
		// Rolled up in two slices, so that users' hours come in several
		// rows of rollup_step_hours, as they do over time.
		pg = storetest.Postgres.Open(t)
		writeSessions(t, pg, sessions[:len(sessions)/2])
		if err := pg.RollUp(context.Background()); err != nil {
			t.Fatal(err)
		}
		writeSessions(t, pg, sessions[len(sessions)/2:])
		if err := pg.RollUp(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Rows of one type, user, hour and set of ?by= values: the ?by=
		// values alone split hours too.
		if n := storetest.Count(t, pg, `SELECT count(*) - count(DISTINCT (type, hour, uid, guide_id, room_id, ad_id, shop_id, chan_id)) FROM rollup_step_hours`); n == 0 {
			t.Fatal("no user's hour of a step type in two rows of rollup_step_hours")
		}
	}

	lastUsers := map[string]bool{} // the last step's counts seen, so that the windows matter
	for _, steps := range []string{
		"browse_sku_page,add_to_cart,custom_order:payed",
		"browse_wxapp_page,browse_sku_page,add_to_cart,custom_order:give_order,custom_order:payed",
		"add_to_cart,add_to_cart,add_to_cart",
		"browse_sku_page,browse_wxapp_page,browse_sku_page",
	} {
		for _, window := range []string{"1s", "5s", "10s", "15s", "20s", "1m", "1h", "90m", "1d"} {
			for _, by := range []string{"", "&by=guide_id"} {
				params := "steps=" + steps + "&window=" + window + by
				want, err := askApp(duck, fixtureTenant, "funnel", "2026-03-01", "2026-03-02", params, false)
				if err != nil {
					t.Fatal(err)
				}
				got, err := askPortable(duck, fixtureTenant, "funnel", "2026-03-01", "2026-03-02", params)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(want.Rows, got.Rows) {
					t.Errorf("%s: buckets on DuckDB differ from ASOF\nasof:\n%s\nbuckets:\n%s", params, dump(want), dump(got))
				}
				if pg != nil {
					got, err := askApp(pg, fixtureTenant, "funnel", "2026-03-01", "2026-03-02", params, false)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(want.Rows, got.Rows) {
						t.Errorf("%s: PostgreSQL differs from DuckDB\nduckdb:\n%s\npostgres:\n%s", params, dump(want), dump(got))
					}
				}
				if by == "" {
					lastUsers[fmt.Sprint(want.Rows[len(want.Rows)-1][2])] = true
				}
			}
		}
	}
	if len(lastUsers) < 4 {
		t.Errorf("the last steps reached only %v users: traffic too thin to tell the windows apart", lastUsers)
	}
}

// randomFunnelSessions makes 120 sessions of 40 users over 2026-03-01 and
// 03-02 (Shanghai), with the funnels' event types and two guides.
func randomFunnelSessions(rng *rand.Rand) []session {
	start := at("2026-03-01 00:00:00")
	var out []session
	for i := 0; i < 120; i++ {
		u := rng.Intn(40)
		chn := `{"chan_wxapp_scene":1001}`
		if g := rng.Intn(3); g > 0 {
			chn = fmt.Sprintf(`{"chan_wxapp_scene":1001,"guide_id":"G%d"}`, g)
		}
		s := session{
			tracking: fmt.Sprintf("r%d", i),
			user:     fmt.Sprintf(`{"app_id":"wx1","local_id":"l%d","open_id":"o%d"}`, u, u),
			chn:      chn,
		}
		// Users come back within hours, so that later sessions can carry
		// their chains on.
		tm := start.Add(time.Duration(u%8)*5*time.Hour + time.Duration(rng.Intn(6*3600/5))*5*time.Second)
		for n := 3 + rng.Intn(20); n > 0; n-- {
			tm = tm.Add(time.Duration(rng.Intn(5)) * 5 * time.Second)
			// Now and then a pause of minutes, so that one user's events
			// of a type spread over an hour and windows of an hour or
			// more end inside such a spread.
			if rng.Intn(8) == 0 {
				tm = tm.Add(time.Duration(rng.Intn(12)) * 5 * time.Minute)
			}
			var e sdkEvent
			switch r := rng.Intn(10); {
			case r < 3:
				e = sdkEvent{"browse_sku_page", "", `"page":"pages/goods/detail","page_title":"Detail",` + skuS1}
			case r < 5:
				action := "append_to_cart"
				if rng.Intn(4) == 0 {
					action = "remove_from_cart"
				}
				e = sdkEvent{"add_to_cart", "", fmt.Sprintf(`"page":"pages/goods/detail","page_title":"Detail","action_type":%q,"sku_num":1,`, action) + skuS1}
			case r < 7:
				status := "give_order"
				if rng.Intn(2) == 0 {
					status = "payed"
				}
				e = sdkEvent{"custom_order", "", order(fmt.Sprintf("R%d-%d", i, n), status, "10")}
			default:
				e = sdkEvent{"browse_wxapp_page", "", `"page":"pages/index/index","page_title":"Home"`}
			}
			e.time = tm.Format("2006-01-02 15:04:05")
			s.events = append(s.events, e)
		}
		out = append(out, s)
	}
	return out
}
