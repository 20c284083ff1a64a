package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// TestPullCommand: shuyuan pull fetches the days asked of both families
// into the store, skips complete days the second time, and names the
// flag and the rule of a bad range.
func TestPullCommand(t *testing.T) {
	fake, err := wxfake.New(wxfake.Options{MiniReadyHour: -1, OAReadyHour: -1, Apps: []wxfake.App{
		{AppID: "wx8f0c1d2e3a4b5c6d", Secret: "mini-secret", AccountID: 1},
		{AppID: "wx0000000000000abc", Secret: "oa-secret", Kind: wxfake.KindOfficialAccount},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fake)
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "shuyuan.yaml")
	if err := os.WriteFile(file, []byte(`admin_key: admin-key-0123456789
apps:
  - id: shop
    timezone: Asia/Shanghai
    wx_appid: wx8f0c1d2e3a4b5c6d
    wx_secret: mini-secret
    sdk_token: sdk-token-1
    official_account: {appid: wx0000000000000abc, secret: oa-secret}
    wechat_pull: {enabled: true, backfill_days: 3}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(time.FixedZone("Asia/Shanghai", 8*3600))
	day := func(n int) string { return now.AddDate(0, 0, n).Format(time.DateOnly) }
	flags := []string{"--config", file, "--data", filepath.Join(dir, "data"), "--wechat-url", hs.URL}
	pull := func(args ...string) (string, error) {
		return captureStdout(t, func() error { return run(append(append([]string{"pull"}, flags...), args...)) })
	}

	out, err := pull("--from", day(-2), "--to", day(-1))
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, out)
	}
	if n := strings.Count(out, " complete\n"); n != 4 {
		t.Fatalf("pull printed %d complete days, want 2 of each family:\n%s", n, out)
	}
	calls := fake.Calls(wxfake.EndpointVisitPage)
	out, err = pull("--from", day(-2), "--to", day(-1))
	if err != nil || strings.Count(out, "complete already") != 4 || fake.Calls(wxfake.EndpointVisitPage) != calls {
		t.Fatalf("second pull: %v, %d calls more:\n%s", err, fake.Calls(wxfake.EndpointVisitPage)-calls, out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", day(-1), "--to", day(0)}, "--to: must be a finished day"},
		{[]string{"--from", "2025-13-01", "--to", day(-1)}, "--from: must be a date YYYY-MM-DD"},
		{[]string{"--from", day(-1), "--to", day(-2)}, "--to: must not be before --from"},
		{[]string{"--from", day(-1)}, "--from and --to are required"},
		{[]string{"--app", "other", "--from", day(-1), "--to", day(-1)}, `--app: no app "other"`},
	} {
		if _, err := pull(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("pull %v: %v, want %q", tc.args, err, tc.want)
		}
	}

	st, err := duckdb.Open(context.Background(), filepath.Join(dir, "data"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := storetest.Count(t, st, `SELECT count(DISTINCT ref_date) FROM wxapp_visit_pages WHERE source = 'pulled'`); n != 2 {
		t.Fatalf("pulled page days stored: %d, want 2", n)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM oa_user_cumulates`); n != 2 {
		t.Fatalf("follower days stored: %d, want 2", n)
	}
}
