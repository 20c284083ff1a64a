package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

func TestYoushuRelay(t *testing.T) {
	file := write(t, `admin_key: admin-key-0123456789
apps:
  - id: shop
    sdk_token: sdk-token-1
    youshu_relay:
      enabled: true
      sdk_token: real-youshu-token
      data_api: {app_id: real-ys-app}
      base_url: https://test.zhls.qq.com/
      data_sources: {"10001": "ys-src-1"}
  - id: off
    sdk_token: sdk-token-2
    youshu_relay: {sdk_token: kept-but-off}
`)
	c, _, err := config.Load("serve", []string{"--config", file},
		env(map[string]string{"SHUYUAN_APP_SHOP_YOUSHU_RELAY_DATA_API_SECRET": "real-ys-secret"}))
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
	shop, _ := reg.ByID("shop")
	want := tenant.Relay{BaseURL: "https://test.zhls.qq.com", SDKToken: "real-youshu-token",
		DataAPIAppID: "real-ys-app", DataAPISecret: "real-ys-secret",
		DataSources: map[string]string{"10001": "ys-src-1"}, KeepDelivered: config.DefaultKeepDelivered}
	if shop.Relay == nil || !reflect.DeepEqual(*shop.Relay, want) {
		t.Errorf("shop relay %+v, want %+v", shop.Relay, want)
	}
	if off, _ := reg.ByID("off"); off.Relay != nil {
		t.Errorf("a relay not enabled must be nil, got %+v", off.Relay)
	}
	dump := c.Dump()
	for _, secret := range []string{"real-youshu-token", "real-ys-secret", "kept-but-off"} {
		if strings.Contains(dump, secret) {
			t.Errorf("dump shows %q:\n%s", secret, dump)
		}
	}
}

func TestYoushuRelayValidation(t *testing.T) {
	for field, block := range map[string]string{
		"enabled":        "enabled: true",
		"data_api":       "{enabled: true, data_api: {app_id: x}}",
		"base_url":       "{enabled: true, sdk_token: t, base_url: 'ftp://zhls.qq.com'}",
		"keep_delivered": "{enabled: true, sdk_token: t, keep_delivered: 10m}",
		"data_sources":   "{enabled: true, sdk_token: t, data_sources: {'1': ''}}",
	} {
		if !strings.HasPrefix(block, "{") {
			block = "{" + block + "}"
		}
		file := write(t, "admin_key: admin-key-0123456789\napps:\n  - id: a\n    sdk_token: sdk-token-1\n    youshu_relay: "+block+"\n")
		c, _, err := config.Load("serve", []string{"--config", file}, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "apps[0].youshu_relay."+field+":") {
			t.Errorf("%s: %v", block, err)
		}
	}
}
