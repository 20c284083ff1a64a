package config

import (
	"fmt"

	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// OfficialAccount is the official account (公众号) whose article and user
// data the daily pull fetches. Its token is its own: WeChat rejects the
// mini-program's token on the account's endpoints.
type OfficialAccount struct {
	AppID  string `yaml:"appid"`
	Secret string `yaml:"secret"`
}

// WechatPull configures the daily pull of WeChat's own analysis data.
type WechatPull struct {
	Enabled bool `yaml:"enabled"`
	// BackfillDays is how many finished days the first run fetches
	// (default DefaultBackfillDays).
	BackfillDays int `yaml:"backfill_days,omitempty"`
	// Hour is the local hour from which yesterday is pulled (default
	// DefaultPullHour); a pointer because 0 (midnight) is a valid choice.
	Hour *int `yaml:"hour,omitempty"`
}

// Defaults of wechat_pull. Mini-program data is usually ready after 10:00
// Beijing time (wechat-datacube.md §1.3), hence 11.
const (
	DefaultBackfillDays = 30
	DefaultPullHour     = 11
	maxBackfillDays     = 365
)

// PullHour is the effective hour of the pull.
func (p WechatPull) PullHour() int {
	if p.Hour == nil {
		return DefaultPullHour
	}
	return *p.Hour
}

// Backfill is the effective number of backfill days.
func (p WechatPull) Backfill() int {
	if p.BackfillDays == 0 {
		return DefaultBackfillDays
	}
	return p.BackfillDays
}

// checkPull checks official_account and wechat_pull of app a, whose keys
// start with k.
func (a App) checkPull(k string) []error {
	var errs []error
	bad := func(key, rule string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(rule, args...)))
	}
	oa := a.OfficialAccount
	if (oa.AppID == "") != (oa.Secret == "") {
		bad(k+".official_account", "appid and secret go together (secret also from %sOA_SECRET)", EnvName(a.ID))
	}
	if oa.AppID != "" {
		if !wxAppIDPattern.MatchString(oa.AppID) {
			bad(k+".official_account.appid", "must be wx followed by 16 letters or digits, got %q", oa.AppID)
		} else if oa.AppID == a.WxAppID {
			bad(k+".official_account.appid", "must differ from wx_appid: the account and the mini-program are two apps with two tokens")
		}
	}
	p := a.WechatPull
	if p.BackfillDays < 0 || p.BackfillDays > maxBackfillDays {
		bad(k+".wechat_pull.backfill_days", "must be between 0 (default %d) and %d, got %d", DefaultBackfillDays, maxBackfillDays, p.BackfillDays)
	}
	if p.Hour != nil && (*p.Hour < 0 || *p.Hour > 23) {
		bad(k+".wechat_pull.hour", "must be an hour from 0 to 23, got %d", *p.Hour)
	}
	if p.Enabled && (a.WxAppID == "" || a.WxSecret == "") && oa.AppID == "" {
		bad(k+".wechat_pull.enabled", "needs wx_appid and wx_secret (mini-program data) or official_account (article data)")
	}
	return errs
}

// pull is the app's daily pull, nil when off.
func (a App) pull() *tenant.Pull {
	if !a.WechatPull.Enabled {
		return nil
	}
	return &tenant.Pull{AccountAppID: a.OfficialAccount.AppID, AccountSecret: a.OfficialAccount.Secret,
		BackfillDays: a.WechatPull.Backfill(), Hour: a.WechatPull.PullHour()}
}
