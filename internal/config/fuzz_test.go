package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/config"
)

// readmeExample is the config file of the README, every key set.
const readmeExample = `
admin_key: "change-me-to-a-long-random-string"
timezone: Asia/Shanghai
metrics_addr: 127.0.0.1:9100
metrics_token: "scrape-token-0123456789"
store: {driver: duckdb, path: ./data, memory_limit: 300MB, threads: 0}
wechat: {base_url: https://api.weixin.qq.com}
youshu: {base_url: https://zhls.qq.com}
limits: {max_body_bytes: 1048576, max_batch_events: 500, max_new_event_types: 100}
apps:
  - id: shop
    name: My shop
    timezone: Asia/Shanghai
    wx_appid: wx8f0c1d2e3a4b5c6d
    wx_secret: "wx-secret-0123"
    sdk_token: "sdk-token-0123"
    data_api: {app_id: "ys-app", app_secret: "ys-secret-0123"}
    ads:
      user_action_set_id: 1111015138
      attribution_window: 7d
      order_source: auto
      lead_event: submit_lead
      lead_action: RESERVATION
      send_outer_action_id: true
      retry_budget: 24h
users:
  - name: alice
    password_bcrypt: "$2a$04$abcdefghijklmnopqrstuu5Y5bqmO3QVUH/3B/6xVxNvLHiH7L1Ne"
`

// FuzzLoad: whatever the config file holds, loading it answers a config or
// an error, never a panic; a config that validates dumps with every
// secret masked, and the dump loads back to the same config but for the
// masks.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(readmeExample))
	f.Add([]byte(fullExample))
	f.Add([]byte("admin_key: 0123456789abcdef\nusers: [{name: a, password_bcrypt: x}, {name: a, password_bcrypt: y}]\n"))
	f.Add([]byte("admin_key: [1, 2]\napps: {id: a}\n"))
	f.Add([]byte("admin_key: &a 0123456789abcdef\nmetrics_token: *a\n"))
	f.Add([]byte(`admin_key: 0123456789abcdef
apps:
  - id: a
    sdk_token: sdk-token-0123
    wx_appid: wx8f0c1d2e3a4b5c6d
    wx_secret: s
    official_account: {appid: wx0000000000000abc, secret: oa}
    wechat_pull: {backfill_days: 3, hour: 9}
    youshu_relay: {enabled: true, sdk_token: ys, data_api: {app_id: x, app_secret: y}, data_sources: {"1": "2"}}
`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, file []byte) {
		p := filepath.Join(dir, "shuyuan.yaml")
		if err := os.WriteFile(p, file, 0o600); err != nil {
			t.Fatal(err)
		}
		c, _, err := config.Load("serve", []string{"--config", p}, env(nil))
		if err != nil || c.Validate() != nil {
			return
		}
		if _, err := c.Tenants(); err != nil {
			t.Fatalf("a config that validates has no tenants: %v", err)
		}
		dump := c.Dump()
		if err := os.WriteFile(p, []byte(dump), 0o600); err != nil {
			t.Fatal(err)
		}
		back, _, err := config.Load("serve", []string{"--config", p}, env(nil))
		if err != nil {
			t.Fatalf("the dump does not load: %v\n%s", err, dump)
		}
		// What the dump must hold: the config with every secret masked.
		want := *c
		masked := func(s string) string {
			if s == "" {
				return ""
			}
			return "******"
		}
		want.AdminKey, want.MetricsToken = masked(c.AdminKey), masked(c.MetricsToken)
		want.Apps = append([]config.App(nil), c.Apps...)
		for i := range want.Apps {
			a := &want.Apps[i]
			a.WxSecret, a.SDKToken, a.DataAPI.AppSecret = masked(a.WxSecret), masked(a.SDKToken), masked(a.DataAPI.AppSecret)
			a.OfficialAccount.Secret = masked(a.OfficialAccount.Secret)
			a.YoushuRelay.SDKToken, a.YoushuRelay.DataAPI.AppSecret = masked(a.YoushuRelay.SDKToken), masked(a.YoushuRelay.DataAPI.AppSecret)
		}
		want.Users = append([]config.User(nil), c.Users...)
		for i := range want.Users {
			want.Users[i].PasswordBcrypt = masked(want.Users[i].PasswordBcrypt)
		}
		// The dump shows the effective values where the file left the
		// defaults; that is the only other difference.
		if want.Store.Driver == "duckdb" && want.Store.MemoryLimit == "" {
			want.Store.MemoryLimit = config.DefaultMemoryLimit
		}
		for i := range want.Apps {
			a := &want.Apps[i]
			if a.Timezone == "" {
				a.Timezone = want.Timezone
			}
			if a.Ads.AttributionWindow == "" {
				a.Ads.AttributionWindow = config.DefaultAttributionWindow
			}
			if a.Ads.OrderSource == "" {
				a.Ads.OrderSource = config.OrderSourceAuto
			}
			if a.Ads.LeadAction == "" {
				a.Ads.LeadAction = config.DefaultLeadAction
			}
			if a.Ads.RetryBudget == "" {
				a.Ads.RetryBudget = "24h"
			}
			if a.WechatPull.Enabled {
				h := a.WechatPull.PullHour()
				a.WechatPull.BackfillDays, a.WechatPull.Hour = a.WechatPull.Backfill(), &h
			}
			if r := &a.YoushuRelay; r.Enabled {
				if r.BaseURL == "" {
					r.BaseURL = c.Youshu.BaseURL
				}
				if r.KeepDelivered == "" {
					r.KeepDelivered = "7d"
				}
			}
			if len(a.YoushuRelay.DataSources) == 0 {
				a.YoushuRelay.DataSources = nil // an empty map is left out of the dump
			}
		}
		want.Store.DSN = back.Store.DSN // masked in place, by a pattern
		// An empty list dumps as [] and loads as an empty slice.
		if len(back.Apps) == 0 && len(want.Apps) == 0 {
			back.Apps, want.Apps = nil, nil
		}
		if len(back.Users) == 0 && len(want.Users) == 0 {
			back.Users, want.Users = nil, nil
		}
		if !reflect.DeepEqual(*back, want) {
			t.Fatalf("the dump loads back as\n%+v\nwant\n%+v\ndump:\n%s", *back, want, dump)
		}
	})
}
