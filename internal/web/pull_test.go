package web_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// The overview of an app that pulls WeChat's data says, per family, how
// many days of the window are in, how many are owed, and which failed,
// with the command that tries them again.
func TestOverviewShowsPullState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	shop, _ := e.tenants.ByID("shop")
	// testNow is 2026-03-10 15:00 in Shanghai: the window is 03-05..03-09.
	shop.Pull = &tenant.Pull{BackfillDays: 5, Hour: 11, AccountAppID: "wx0000000000000abc", AccountSecret: "s"}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	for _, pd := range []store.PullDay{
		{App: "shop", Family: "mini_program", Day: day(5), Status: store.PullComplete},
		{App: "shop", Family: "mini_program", Day: day(6), Status: store.PullComplete},
		{App: "shop", Family: "mini_program", Day: day(7), Status: store.PullComplete},
		{App: "shop", Family: "mini_program", Day: day(8), Status: store.PullFailed, LastError: "datacube getVisitPage: errcode 61501: date range error"},
		{App: "shop", Family: "mini_program", Day: day(9), Status: store.PullPending, LastError: "data not ready"},
		{App: "shop", Family: "mini_program", Day: day(1), Status: store.PullFailed, LastError: "outside the window"},
	} {
		pd.UpdatedAt = testNow
		if err := e.st.SavePullDay(ctx, pd); err != nil {
			t.Fatal(err)
		}
	}
	r := do(t, http.DefaultClient, "GET", e.srv.URL+"/apps/shop/overview?from=2026-03-04&to=2026-03-10", nil,
		map[string]string{"Authorization": "Bearer " + adminKey, "Accept-Language": "en"})
	if r.status != http.StatusOK {
		t.Fatalf("overview: %d", r.status)
	}
	line := func(id string) []string {
		return regexp.MustCompile(`<p class="status([^"]*)" id="` + id + `" role="status">([^<]*)</p>`).FindStringSubmatch(r.body)
	}
	mini := "WeChat&#39;s data (mini-program): 3 recent days pulled, 1 still owed (tried again while not ready). " +
		"1 failed, the last with: datacube getVisitPage: errcode 61501: date range error. " +
		"Once fixed, shuyuan pull --app shop --from 2026-03-08 --to 2026-03-08 tries them again."
	if got := line("pull-mini_program"); got == nil || got[2] != mini || got[1] != " warn" {
		t.Errorf("mini-program line %q, want %q marked warn", got, mini)
	}
	account := "WeChat&#39;s data (official account): 0 recent days pulled, 5 still owed (tried again while not ready)."
	// Every day of the account's window in: one short line.
	for d := 5; d <= 9; d++ {
		if err := e.st.SavePullDay(ctx, store.PullDay{App: "shop", Family: "official_account", Day: day(d), Status: store.PullComplete, UpdatedAt: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	r2 := do(t, http.DefaultClient, "GET", e.srv.URL+"/apps/shop/overview?from=2026-03-04&to=2026-03-10", nil,
		map[string]string{"Authorization": "Bearer " + adminKey, "Accept-Language": "zh"})
	if got := regexp.MustCompile(`id="pull-official_account" role="status">([^<]*)<`).FindStringSubmatch(r2.body); got == nil || got[1] != "微信数据（公众号）：近 5 天均已拉取。" {
		t.Errorf("account line once complete: %q", got)
	}
	if got := line("pull-official_account"); got == nil || got[2] != account || got[1] != "" {
		t.Errorf("account line %q, want %q", got, account)
	}
	if r := do(t, http.DefaultClient, "GET", e.srv.URL+"/apps/empty/overview?from=2026-03-04&to=2026-03-10", nil,
		map[string]string{"Authorization": "Bearer " + adminKey}); regexp.MustCompile(`id="pull-`).MatchString(r.body) {
		t.Error("an app that does not pull shows a pull line")
	}
}
