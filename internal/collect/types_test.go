package collect_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// typesEnv is a collector over a real store, with a cap of 3 new types a
// day; restart gives it a new gate over the same store, as a restart does.
type typesEnv struct {
	st  *duckdb.Store
	w   *store.Writer
	c   *collect.Collector
	app *tenant.App
}

func newTypesEnv(t *testing.T) *typesEnv {
	t.Helper()
	e := &typesEnv{st: storetest.Open(t), app: &tenant.App{ID: "shop", SDKToken: "shop-sdk-token", Location: shanghai}}
	e.w = store.NewWriter(e.st, store.WriterOptions{})
	t.Cleanup(e.w.Close)
	e.restart()
	return e
}

func (e *typesEnv) restart() {
	e.c = collect.New(e.w, collect.NewTypeGate(collect.StoredTypes(e.st), 3))
}

// upload sends one event of each type at the given local time and returns
// the types stored and the quarantine reasons.
func (e *typesEnv) upload(t *testing.T, at string, types ...string) (stored []string, reasons []string) {
	t.Helper()
	received, err := time.ParseInLocation("2006-01-02 15:04", at, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	var evs []string
	for i, typ := range types {
		evs = append(evs, fmt.Sprintf(`{"type":%q,"props":{"page":"p","time":%d,"wx_user":{"open_id":"o1"},"n":%d}}`,
			typ, received.UnixMilli(), i))
	}
	var before int
	e.st.DB().QueryRow(`SELECT count(*) FROM quarantine`).Scan(&before)
	if _, err := e.c.Collect(context.Background(), collect.Upload{App: e.app, Body: []byte("[" + strings.Join(evs, ",") + "]"), ReceivedAt: received}); err != nil {
		t.Fatalf("upload at %s: %v", at, err)
	}
	rows, err := e.st.DB().Query(`SELECT type FROM events WHERE received_at = $1 ORDER BY type`, received.UTC())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		rows.Scan(&s)
		stored = append(stored, s)
	}
	qs, err := e.st.DB().Query(`SELECT reason FROM quarantine WHERE received_at = $1 ORDER BY reason`, received.UTC())
	if err != nil {
		t.Fatal(err)
	}
	defer qs.Close()
	for qs.Next() {
		var s string
		qs.Scan(&s)
		reasons = append(reasons, s)
	}
	return stored, reasons
}

// TestNewUnknownTypesCapped: an app stores at most 3 (here) event types of
// unknown kind it never stored before per local day; further new ones are
// quarantined with the reason. The count is derived from the stored
// events, so a restart does not reset it, and the next day allows new
// ones again. Known types, behaviours and the SDK's own never count.
func TestNewUnknownTypesCapped(t *testing.T) {
	e := newTypesEnv(t)
	stored, reasons := e.upload(t, "2026-11-22 10:00", "app_show", "sdk_config_info", "t1", "t2", "t3", "t4", "t5")
	if want := "app_show sdk_config_info t1 t2 t3"; strings.Join(stored, " ") != want {
		t.Errorf("stored %v; want %s", stored, want)
	}
	if len(reasons) != 2 || !strings.Contains(reasons[0], `event 5: type: "t4" would be the 4th new event type of app shop on 2026-11-22 (Asia/Shanghai); at most 3 new types a day are stored`) ||
		!strings.Contains(reasons[1], `event 6: type: "t5"`) {
		t.Errorf("quarantine reasons %q", reasons)
	}

	// Known types go on; a new one is still refused the same day.
	stored, reasons = e.upload(t, "2026-11-22 11:00", "t1", "t3", "t6")
	if strings.Join(stored, " ") != "t1 t3" || len(reasons) != 1 || !strings.Contains(reasons[0], `"t6"`) {
		t.Errorf("the same day: stored %v, quarantined %q", stored, reasons)
	}

	// A restart reads the day's count from the store.
	e.restart()
	stored, reasons = e.upload(t, "2026-11-22 23:59", "t2", "t7")
	if strings.Join(stored, " ") != "t2" || len(reasons) != 1 || !strings.Contains(reasons[0], `"t7"`) {
		t.Errorf("after a restart: stored %v, quarantined %q", stored, reasons)
	}

	// The next local day (UTC+8: 16:00 UTC) three new types are welcome again.
	stored, reasons = e.upload(t, "2026-11-23 00:00", "t4", "t5", "t6", "t7", "t1")
	if strings.Join(stored, " ") != "t1 t4 t5 t6" || len(reasons) != 1 || !strings.Contains(reasons[0], `"t7" would be the 4th new event type of app shop on 2026-11-23`) {
		t.Errorf("the next day: stored %v, quarantined %q", stored, reasons)
	}
}
