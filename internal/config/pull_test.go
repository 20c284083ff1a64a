package config_test

import (
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/config"
)

func TestWechatPullConfig(t *testing.T) {
	file := write(t, `admin_key: admin-key-0123456789
apps:
  - id: shop
    wx_appid: wx8f0c1d2e3a4b5c6d
    wx_secret: mini-secret
    sdk_token: sdk-token-1
    official_account: {appid: wx0000000000000abc}
    wechat_pull: {hour: 0}
`)
	c, _, err := config.Load("serve", []string{"--config", file}, env(map[string]string{"SHUYUAN_APP_SHOP_OA_SECRET": "oa-secret-from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	a := c.Apps[0]
	if a.OfficialAccount.Secret != "oa-secret-from-env" {
		t.Fatalf("official_account.secret = %q, want the environment's", a.OfficialAccount.Secret)
	}
	if a.WechatPull.PullHour() != 0 || a.WechatPull.Backfill() != config.DefaultBackfillDays {
		t.Fatalf("hour %d backfill %d, want 0 and %d", a.WechatPull.PullHour(), a.WechatPull.Backfill(), config.DefaultBackfillDays)
	}
	tenants, err := c.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	if app, _ := tenants.ByID("shop"); app.Pull != nil {
		t.Fatalf("pull of an app with wechat_pull off: %+v, want nil", app.Pull)
	}
	dump := c.Dump()
	if strings.Contains(dump, "oa-secret-from-env") || !strings.Contains(dump, "hour: 0") {
		t.Fatalf("dump leaks the secret or misses the pull settings:\n%s", dump)
	}
}

func TestWechatPullConfigErrors(t *testing.T) {
	tests := []struct{ app, want string }{
		{`official_account: {appid: wx0000000000000abc}`, "apps[0].official_account: appid and secret go together"},
		{`official_account: {appid: oa1, secret: s}`, "apps[0].official_account.appid: must be wx followed by 16"},
		{`official_account: {appid: wx8f0c1d2e3a4b5c6d, secret: s}`, "apps[0].official_account.appid: must differ from wx_appid"},
		{`wechat_pull: {backfill_days: 400}`, "apps[0].wechat_pull.backfill_days: must be between 0"},
		{`wechat_pull: {backfill_days: -1}`, "apps[0].wechat_pull.backfill_days: must be between 0"},
		{`wechat_pull: {hour: 24}`, "apps[0].wechat_pull.hour: must be an hour from 0 to 23, got 24"},
		{`wechat_pull: {enabled: true}`, "apps[0].wechat_pull.enabled: needs wx_appid and wx_secret"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			file := write(t, "admin_key: admin-key-0123456789\napps:\n  - id: shop\n    wx_appid: wx8f0c1d2e3a4b5c6d\n    sdk_token: sdk-token-1\n    "+tc.app+"\n")
			c, _, err := config.Load("serve", []string{"--config", file}, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestWechatPullEnabled: the pull, once on, reaches the app with the
// account's credentials and the effective schedule.
func TestWechatPullEnabled(t *testing.T) {
	file := write(t, `admin_key: admin-key-0123456789
apps:
  - id: shop
    wx_appid: wx8f0c1d2e3a4b5c6d
    wx_secret: mini-secret
    sdk_token: sdk-token-1
    official_account: {appid: wx0000000000000abc, secret: oa-secret}
    wechat_pull: {enabled: true, backfill_days: 7}
`)
	c, _, err := config.Load("serve", []string{"--config", file}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	tenants, err := c.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	app, _ := tenants.ByID("shop")
	if p := app.Pull; p == nil || p.AccountAppID != "wx0000000000000abc" || p.AccountSecret != "oa-secret" ||
		p.BackfillDays != 7 || p.Hour != config.DefaultPullHour {
		t.Fatalf("pull = %+v", app.Pull)
	}
}
