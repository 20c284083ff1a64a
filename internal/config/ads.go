package config

import (
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// Values and defaults of an app's ads block.
const (
	// OrderSourceAuto (the default) reports backend orders when the app has
	// data-api credentials, else the SDK's payed custom_order events.
	OrderSourceAuto    = "auto"
	DefaultLeadAction  = "RESERVATION"
	DefaultRetryBudget = 24 * time.Hour
	// DefaultActionURL is sent as url when neither ads.url nor wx_appid is
	// set: the placeholder mini-program integrators use (spec §3.5).
	DefaultActionURL = "http://www.qq.com"
)

// check validates the conversion settings of an ads block named key.
func (a Ads) check(key string) []error {
	var errs []error
	bad := func(field, rule string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, field, fmt.Sprintf(rule, args...)))
	}
	switch a.OrderSource {
	case "", OrderSourceAuto, tenant.OrderSourceBackend, tenant.OrderSourceSDK:
	default:
		bad("order_source", "must be auto, backend or sdk, got %q", a.OrderSource)
	}
	switch a.LeadAction {
	case "", "RESERVATION", "CONFIRM_EFFECTIVE_LEADS":
	default:
		bad("lead_action", "must be RESERVATION or CONFIRM_EFFECTIVE_LEADS, got %q", a.LeadAction)
	}
	if len(a.LeadEvent) > 64 {
		bad("lead_event", "must be at most 64 characters")
	}
	if a.URL != "" && len(a.URL) > 1024 {
		bad("url", "must be at most 1024 characters")
	}
	if a.RetryBudget != "" {
		if d, err := ParseWindow(a.RetryBudget); err != nil || d <= 0 {
			bad("retry_budget", "must be a positive duration like 24h or 2d, got %q", a.RetryBudget)
		}
	}
	return errs
}

// rules turns a validated ads block into the tenant's rules, resolving
// "auto" and the defaults.
func (a Ads) rules(hasDataAPI bool, wxAppID string) tenant.Ads {
	r := tenant.Ads{
		OrderSource: a.OrderSource, LeadEvent: a.LeadEvent, LeadAction: a.LeadAction,
		SendOuterActionID: a.SendOuterActionID == nil || *a.SendOuterActionID,
		URL:               a.URL, ClassicToken: a.ClassicToken, RetryBudget: DefaultRetryBudget,
	}
	if r.OrderSource == "" || r.OrderSource == OrderSourceAuto {
		r.OrderSource = tenant.OrderSourceSDK
		if hasDataAPI {
			r.OrderSource = tenant.OrderSourceBackend
		}
	}
	if r.LeadAction == "" {
		r.LeadAction = DefaultLeadAction
	}
	if r.URL == "" {
		r.URL = DefaultActionURL
		if wxAppID != "" {
			// The page frame WeChat names as the Referer of a mini-program.
			r.URL = "https://servicewechat.com/" + wxAppID + "/"
		}
	}
	if a.RetryBudget != "" {
		if d, err := ParseWindow(a.RetryBudget); err == nil && d > 0 {
			r.RetryBudget = d
		}
	}
	return r
}
