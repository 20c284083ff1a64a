package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// testPullDays: attempts are counted, the last error kept, a complete day
// is final, and days are listed per app within the range.
func testPullDays(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	d1 := time.Date(2025, 12, 8, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	save := func(app, fam string, day time.Time, status store.PullStatus, msg string, at time.Time) {
		t.Helper()
		if err := st.SavePullDay(ctx, store.PullDay{App: app, Family: fam, Day: day, Status: status, LastError: msg, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	save("a", "mini_program", d1, store.PullPending, "data not ready", t0)
	save("a", "mini_program", d1, store.PullComplete, "", t0.Add(time.Hour))
	save("a", "mini_program", d1, store.PullFailed, "late failure", t0.Add(2*time.Hour)) // ignored: complete is final
	save("a", "mini_program", d2, store.PullFailed, "errcode 61501", t0.Add(3*time.Hour))
	save("a", "official_account", d2, store.PullPending, "is_delay", t0)
	save("b", "mini_program", d1, store.PullPending, "", t0)

	got, err := st.PullDays(ctx, "a", d1, d2)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.PullDay{
		{App: "a", Family: "mini_program", Day: d1, Status: store.PullComplete, Attempts: 2, UpdatedAt: t0.Add(time.Hour)},
		{App: "a", Family: "mini_program", Day: d2, Status: store.PullFailed, Attempts: 1, LastError: "errcode 61501", UpdatedAt: t0.Add(3 * time.Hour)},
		{App: "a", Family: "official_account", Day: d2, Status: store.PullPending, Attempts: 1, LastError: "is_delay", UpdatedAt: t0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PullDays:\n got %+v\nwant %+v", got, want)
	}
	if got, _ := st.PullDays(ctx, "a", d2, d2); len(got) != 2 {
		t.Fatalf("PullDays of one day: %+v, want 2 rows", got)
	}
}
