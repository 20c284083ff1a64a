package config

import (
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"
)

// Dump renders the effective configuration as YAML with every secret
// masked.
func (c *Config) Dump() string {
	m := *c
	m.AdminKey = mask(c.AdminKey)
	m.MetricsToken = mask(c.MetricsToken)
	m.Store.DSN = maskDSN(c.Store.DSN)
	if m.Store.Driver == "duckdb" && m.Store.MemoryLimit == "" {
		m.Store.MemoryLimit = DefaultMemoryLimit
	}
	m.Apps = make([]App, len(c.Apps))
	for i, a := range c.Apps {
		// The effective values where the file leaves the defaults.
		if a.Timezone == "" {
			a.Timezone = c.Timezone
		}
		if a.Ads.AttributionWindow == "" {
			a.Ads.AttributionWindow = DefaultAttributionWindow
		}
		if a.Ads.OrderSource == "" {
			a.Ads.OrderSource = OrderSourceAuto // backend with data_api credentials, else sdk
		}
		if a.Ads.LeadAction == "" {
			a.Ads.LeadAction = DefaultLeadAction
		}
		if a.Ads.RetryBudget == "" {
			a.Ads.RetryBudget = "24h"
		}
		a.WxSecret = mask(a.WxSecret)
		a.SDKToken = mask(a.SDKToken)
		a.DataAPI.AppSecret = mask(a.DataAPI.AppSecret)
		a.OfficialAccount.Secret = mask(a.OfficialAccount.Secret)
		if a.WechatPull.Enabled {
			h := a.WechatPull.PullHour()
			a.WechatPull.BackfillDays, a.WechatPull.Hour = a.WechatPull.Backfill(), &h
		}
		if a.YoushuRelay.Enabled && a.YoushuRelay.BaseURL == "" {
			a.YoushuRelay.BaseURL = c.Youshu.BaseURL
		}
		if a.YoushuRelay.Enabled && a.YoushuRelay.KeepDelivered == "" {
			a.YoushuRelay.KeepDelivered = "7d"
		}
		a.YoushuRelay.SDKToken = mask(a.YoushuRelay.SDKToken)
		a.YoushuRelay.DataAPI.AppSecret = mask(a.YoushuRelay.DataAPI.AppSecret)
		m.Apps[i] = a
	}
	m.Users = make([]User, len(c.Users))
	for i, u := range c.Users {
		u.PasswordBcrypt = mask(u.PasswordBcrypt)
		m.Users[i] = u
	}
	b, err := yaml.Marshal(&m)
	if err != nil {
		return fmt.Sprintf("# cannot render config: %v\n", err)
	}
	return string(b)
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "******"
}

// maskDSN hides a password in a URL-form or key=value connection string.
var dsnPassword = regexp.MustCompile(`(://[^:/@]*:)[^@]*(@)|(password=)\S+`)

func maskDSN(s string) string {
	return dsnPassword.ReplaceAllString(s, "${1}${3}******${2}")
}
