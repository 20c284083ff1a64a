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

// The overview of an app that relays to Youshu says what waits, since
// when, and what Youshu refused; an app that does not relay has no line.
func TestOverviewShowsRelayState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	shop, _ := e.tenants.ByID("shop")
	shop.Relay = &tenant.Relay{BaseURL: "http://127.0.0.1:1", SDKToken: "real-token", KeepDelivered: 7 * 24 * time.Hour}
	row := func(body string, received time.Time) store.Relay {
		return store.Relay{AppID: "shop", Kind: store.RelaySDK, Body: body, ReceivedAt: received}
	}
	if err := e.st.Transact(ctx, func(tx store.Tx) error {
		return tx.AddRelays(ctx, []store.Relay{row("delivered", testNow.Add(-time.Hour)),
			row("refused", testNow.Add(-time.Hour)), row("waits", testNow.Add(-20*time.Minute))})
	}); err != nil {
		t.Fatal(err)
	}
	claimed, err := e.st.ClaimRelays(ctx, "shop", "test", testNow, time.Minute, 2)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	if _, err := e.st.SettleRelays(ctx, "test", testNow, []store.RelaySettlement{
		{Seqs: []int64{claimed[0].Seq}, Status: store.RelayDelivered},
		{Seqs: []int64{claimed[1].Seq}, Status: store.RelayDead, Err: `HTTP 200 {"code":1001}`},
	}); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`<p class="status([^"]*)" id="relay" role="status">([^<]*)</p>`)
	overview := func(app, lang string) []string {
		t.Helper()
		r := do(t, http.DefaultClient, "GET", e.srv.URL+"/apps/"+app+"/overview?from=2026-03-04&to=2026-03-10", nil,
			map[string]string{"Authorization": "Bearer " + adminKey, "Accept-Language": lang})
		if r.status != http.StatusOK {
			t.Fatalf("overview of %s: %d", app, r.status)
		}
		return line.FindStringSubmatch(r.body)
	}
	got := overview("shop", "en")
	want := "Youshu relay: 1 waiting, the oldest for 20 min 0 s; 1 delivered. Youshu refused 1: once fixed, shuyuan relay replay --app shop sends them again."
	if got == nil || got[2] != want || got[1] != " warn" {
		t.Fatalf("relay line %q, want %q marked warn", got, want)
	}
	if got := overview("shop", "zh"); got == nil || got[2] != "有数转发：1 条待送达，最早的已等待 20 分 0 秒；已送达 1 条。 有数拒收 1 条：修正后运行 shuyuan relay replay --app shop 重新发送。" {
		t.Errorf("Chinese relay line %q", got)
	}
	if got := overview("empty", "en"); got != nil {
		t.Errorf("an app without the relay shows %q", got)
	}
}
