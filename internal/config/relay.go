package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

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
	// BaseURL is the upstream; the global youshu.base_url unless set
	// (https://zhls.qq.com; the sandbox is https://test.zhls.qq.com).
	BaseURL string `yaml:"base_url"`
	// DataSources maps a shuyuan data source id to the id the merchant's
	// Youshu account has for the same type: relayed data-api calls carry
	// the Youshu id. Ids not listed are sent as they are (right when the
	// source was added to shuyuan with Youshu's id, the dataSourceId
	// extension of data_source/add).
	DataSources map[string]string `yaml:"data_sources,omitempty"`
	// KeepDelivered is how long delivered rows are kept (for the
	// dashboard's counts and for inquiry) before they are deleted; 7d
	// unless set.
	KeepDelivered string `yaml:"keep_delivered"`
}

// DefaultKeepDelivered is how long delivered relay rows are kept.
const DefaultKeepDelivered = 7 * 24 * time.Hour

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
	if r.KeepDelivered != "" {
		if d, err := ParseWindow(r.KeepDelivered); err != nil || d < time.Hour {
			bad("keep_delivered", "must be a duration of at least 1h like 72h or 7d, got %q", r.KeepDelivered)
		}
	}
	for from, to := range r.DataSources {
		if from == "" || to == "" || len(from) > 64 || len(to) > 64 {
			bad("data_sources", "maps a shuyuan data source id to a Youshu one, both 1 to 64 characters, got %q: %q", from, to)
		}
	}
	if r.BaseURL != "" {
		u, err := url.Parse(r.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			bad("base_url", "must be an http(s) URL without query, like %s, got %q", DefaultYoushuURL, r.BaseURL)
		}
	}
	return errs
}

// relay turns a validated block into the tenant's relay, nil when off;
// def is the upstream when the block names none (youshu.base_url).
func (r YoushuRelay) relay(def string) *tenant.Relay {
	if !r.Enabled {
		return nil
	}
	base := strings.TrimRight(r.BaseURL, "/")
	if base == "" {
		base = strings.TrimRight(def, "/")
	}
	keep := DefaultKeepDelivered
	if d, err := ParseWindow(r.KeepDelivered); r.KeepDelivered != "" && err == nil {
		keep = d
	}
	return &tenant.Relay{BaseURL: base, SDKToken: r.SDKToken,
		DataAPIAppID: r.DataAPI.AppID, DataAPISecret: r.DataAPI.AppSecret,
		DataSources: r.DataSources, KeepDelivered: keep}
}
