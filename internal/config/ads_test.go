package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

func TestAdsRules(t *testing.T) {
	file := write(t, `admin_key: admin-key-0123456789
apps:
  - id: backend
    wx_appid: wx8f0c1d2e3a4b5c6d
    sdk_token: sdk-token-1
    data_api: {app_id: ys-app, app_secret: ys-secret}
  - id: sdkonly
    sdk_token: sdk-token-2
  - id: custom
    wx_appid: wx0000000000000001
    sdk_token: sdk-token-3
    data_api: {app_id: ys-app-3, app_secret: ys-secret}
    ads:
      order_source: sdk
      lead_event: submit_lead
      lead_action: CONFIRM_EFFECTIVE_LEADS
      send_outer_action_id: false
      url: https://shop.example.com/
      classic_token: true
      retry_budget: 2d
`)
	c, _, err := config.Load("serve", []string{"--config", file}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	reg, err := c.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]tenant.Ads{
		"backend": {OrderSource: "backend", LeadAction: "RESERVATION", SendOuterActionID: true,
			URL: "https://servicewechat.com/wx8f0c1d2e3a4b5c6d/", RetryBudget: 24 * time.Hour},
		"sdkonly": {OrderSource: "sdk", LeadAction: "RESERVATION", SendOuterActionID: true,
			URL: config.DefaultActionURL, RetryBudget: 24 * time.Hour},
		"custom": {OrderSource: "sdk", LeadEvent: "submit_lead", LeadAction: "CONFIRM_EFFECTIVE_LEADS",
			URL: "https://shop.example.com/", ClassicToken: true, RetryBudget: 48 * time.Hour},
	}
	for id, w := range want {
		a, _ := reg.ByID(id)
		if a.Ads != w {
			t.Errorf("%s: %+v\n want %+v", id, a.Ads, w)
		}
	}
}

func TestAdsRulesValidation(t *testing.T) {
	for field, bad := range map[string]string{
		"order_source": "order_source: both",
		"lead_action":  "lead_action: PURCHASE",
		"retry_budget": "retry_budget: forever",
	} {
		file := write(t, "admin_key: admin-key-0123456789\napps:\n  - id: a\n    sdk_token: sdk-token-1\n    ads:\n      "+bad+"\n")
		c, _, err := config.Load("serve", []string{"--config", file}, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "apps[0].ads."+field+":") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
