package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// YoushuRelay sends what shuyuan accepted for an app on to the merchant's
// real Youshu account (issue 13), so owning a copy does not cost them
// Youshu. Off unless Enabled.
type YoushuRelay struct {
	Enabled bool `yaml:"enabled"`
	// SDKToken is the merchant's real Youshu token: SDK uploads are relayed
	// to <base_url>/api/report?token=<sdk_token>. Empty: uploads are not
	// relayed.
	SDKToken string `yaml:"sdk_token"`
	// DataAPI are the merchant's real Youshu data-api credentials that
	// accepted backend calls are re-signed with. Empty: not relayed.
	DataAPI DataAPI `yaml:"data_api"`
	// BaseURL is the upstream; https://zhls.qq.com unless set (the sandbox
	// is https://test.zhls.qq.com).
	BaseURL string `yaml:"base_url"`
}

// DefaultRelayURL is the Youshu host that takes both SDK reports (the
// 1.x default and 2.x fallback) and the data-api (spec A.1, C).
const DefaultRelayURL = "https://zhls.qq.com"

// check validates a youshu_relay block named key.
func (r YoushuRelay) check(key string) []error {
	var errs []error
	bad := func(field, rule string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, field, fmt.Sprintf(rule, args...)))
	}
	if (r.DataAPI.AppID == "") != (r.DataAPI.AppSecret == "") {
		bad("data_api", "app_id and app_secret go together")
	}
	if r.Enabled && r.SDKToken == "" && r.DataAPI.AppID == "" {
		bad("enabled", "needs sdk_token or data_api credentials, else there is nothing to relay")
	}
	if len(r.SDKToken) > 256 {
		bad("sdk_token", "must be at most 256 characters")
	}
	if r.BaseURL != "" {
		u, err := url.Parse(r.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			bad("base_url", "must be an http(s) URL without query, like %s, got %q", DefaultRelayURL, r.BaseURL)
		}
	}
	return errs
}

// relay turns a validated block into the tenant's relay, nil when off.
func (r YoushuRelay) relay() *tenant.Relay {
	if !r.Enabled {
		return nil
	}
	base := strings.TrimRight(r.BaseURL, "/")
	if base == "" {
		base = DefaultRelayURL
	}
	return &tenant.Relay{BaseURL: base, SDKToken: r.SDKToken,
		DataAPIAppID: r.DataAPI.AppID, DataAPISecret: r.DataAPI.AppSecret}
}
