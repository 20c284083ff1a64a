package config

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"golang.org/x/crypto/bcrypt"
)

var (
	appIDPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	wxAppIDPattern = regexp.MustCompile(`^wx[0-9a-zA-Z]{16}$`)
)

// Validate checks every rule and names each key that breaks one.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, rule string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(rule, args...)))
	}
	if c.AdminKey == "" {
		bad("admin_key", "required (set admin_key in the file, --admin-key or SHUYUAN_ADMIN_KEY)")
	} else if len(c.AdminKey) < 16 {
		bad("admin_key", "must be at least 16 characters")
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("metrics_addr", "must be host:port (like 127.0.0.1:9100), got %q", c.MetricsAddr)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			bad("metrics_addr", "must be host:port (like 127.0.0.1:9100), got %q", c.MetricsAddr)
		} else if c.MetricsAddr == c.Addr {
			bad("metrics_addr", "must differ from addr (%s): it takes /metrics off the public address", c.Addr)
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		bad("metrics_token", "must be at least 16 characters")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		bad("timezone", "unknown time zone %q", c.Timezone)
	}
	switch c.Store.Driver {
	case "duckdb":
		if c.Store.Path == "" {
			bad("store.path", "required for driver duckdb")
		}
		if c.Store.RetentionDays != 0 {
			bad("store.retention_days", "only the postgres driver drops old events; leave it 0 for duckdb")
		}
	case "postgres":
		if c.Store.DSN == "" {
			bad("store.dsn", "required for driver postgres (or --dsn, SHUYUAN_DSN)")
		} else if !strings.HasPrefix(c.Store.DSN, "postgres://") && !strings.HasPrefix(c.Store.DSN, "postgresql://") && !strings.Contains(c.Store.DSN, "=") {
			bad("store.dsn", "must be a postgres:// URL or key=value connection string")
		}
		if c.Store.MaxConns < 1 {
			bad("store.max_conns", "must be at least 1, got %d", c.Store.MaxConns)
		}
		if d, err := time.ParseDuration(c.Store.StatementTimeout); err != nil || d < time.Second {
			bad("store.statement_timeout", "must be a duration of at least 1s (60s, 5m), got %q", c.Store.StatementTimeout)
		}
		if c.Store.RetentionDays < 0 {
			bad("store.retention_days", "must not be negative (0 keeps every day)")
		}
	default:
		bad("store.driver", "must be duckdb or postgres, got %q", c.Store.Driver)
	}
	switch c.Store.Intake {
	case "direct":
	case "log":
		if c.Store.Driver == "postgres" {
			bad("store.intake", "log is for the embedded store; PostgreSQL nodes acknowledge after their commit (use direct)")
		}
		if c.Store.IntakeMaxBacklog < 1<<20 {
			bad("store.intake_max_backlog", "must be at least 1 MiB (1048576), got %d", c.Store.IntakeMaxBacklog)
		}
		if d, err := time.ParseDuration(c.Store.IntakeWait); err != nil || d < 0 {
			bad("store.intake_wait", "must be a duration (10s, 1m; 0 answers at once), got %q", c.Store.IntakeWait)
		}
		if c.Store.IntakeSegmentBytes < 4<<10 {
			bad("store.intake_segment_bytes", "must be at least 4 KiB (4096), got %d", c.Store.IntakeSegmentBytes)
		}
	default:
		bad("store.intake", "must be log or direct, got %q", c.Store.Intake)
	}
	if c.Store.Threads < 0 {
		bad("store.threads", "must not be negative")
	}
	if d, err := time.ParseDuration(c.WeChat.OutboxLease); err != nil || d < time.Second {
		bad("wechat.outbox_lease", "must be a duration of at least 1s (5m, 90s), got %q", c.WeChat.OutboxLease)
	}
	for key, u := range map[string]string{"wechat.base_url": c.WeChat.BaseURL, "youshu.base_url": c.Youshu.BaseURL} {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			bad(key, "must be an http:// or https:// URL, got %q", u)
		}
	}
	if c.Limits.MaxBodyBytes < 1024 {
		bad("limits.max_body_bytes", "must be at least 1024")
	}
	if c.Limits.MaxBatchEvents < 1 {
		bad("limits.max_batch_events", "must be at least 1")
	}
	if c.Limits.MaxNewEventTypes < 1 {
		bad("limits.max_new_event_types", "must be at least 1")
	}
	names := map[string]int{}
	for i, u := range c.Users {
		k := fmt.Sprintf("users[%d]", i)
		switch {
		case strings.TrimSpace(u.Name) == "":
			bad(k+".name", "required")
		case len(u.Name) > 64 || strings.ContainsAny(u.Name, " \t\r\n"):
			bad(k+".name", "must be at most 64 characters without spaces, got %q", u.Name)
		}
		if j, dup := names[u.Name]; dup && u.Name != "" {
			bad(k+".name", "%q already used by users[%d]", u.Name, j)
		}
		names[u.Name] = i
		// Cost parses the hash: it fails on anything that is not a bcrypt
		// hash ($2a$, $2b$ or $2y$, a cost and 53 characters of salt and sum),
		// such as a password written in clear by mistake.
		if _, err := bcrypt.Cost([]byte(u.PasswordBcrypt)); err != nil {
			bad(k+".password_bcrypt", "must be a bcrypt hash ($2a$/$2b$/$2y$..., 60 characters): %v", err)
		}
	}
	ids, tokens, dataIDs := map[string]int{}, map[string]int{}, map[string]int{}
	for i, a := range c.Apps {
		k := fmt.Sprintf("apps[%d]", i)
		switch {
		case a.ID == "":
			bad(k+".id", "required")
		case !appIDPattern.MatchString(a.ID):
			bad(k+".id", "must be lower-case letters, digits, '-' or '_' (at most 64), got %q", a.ID)
		}
		if j, dup := ids[a.ID]; dup && a.ID != "" {
			bad(k+".id", "%q already used by apps[%d]", a.ID, j)
		}
		ids[a.ID] = i
		if a.SDKToken == "" {
			bad(k+".sdk_token", "required (or %sSDK_TOKEN)", EnvName(a.ID))
		} else if len(a.SDKToken) < 8 {
			bad(k+".sdk_token", "must be at least 8 characters")
		} else if j, dup := tokens[a.SDKToken]; dup {
			bad(k+".sdk_token", "already used by apps[%d]", j)
		}
		tokens[a.SDKToken] = i
		if a.WxAppID != "" && !wxAppIDPattern.MatchString(a.WxAppID) {
			bad(k+".wx_appid", "must be wx followed by 16 letters or digits, got %q", a.WxAppID)
		}
		if (a.DataAPI.AppID == "") != (a.DataAPI.AppSecret == "") {
			bad(k+".data_api", "app_id and app_secret go together")
		}
		if a.DataAPI.AppID != "" {
			if j, dup := dataIDs[a.DataAPI.AppID]; dup {
				bad(k+".data_api.app_id", "already used by apps[%d]", j)
			}
			dataIDs[a.DataAPI.AppID] = i
		}
		if a.Timezone != "" {
			if _, err := time.LoadLocation(a.Timezone); err != nil {
				bad(k+".timezone", "unknown time zone %q", a.Timezone)
			}
		}
		if a.Ads.UserActionSetID < 0 {
			bad(k+".ads.user_action_set_id", "must not be negative")
		}
		errs = append(errs, a.Ads.check(k+".ads")...)
		errs = append(errs, a.checkPull(k)...)
		errs = append(errs, a.YoushuRelay.check(k+".youshu_relay")...)
		if a.Ads.AttributionWindow != "" {
			if d, err := ParseWindow(a.Ads.AttributionWindow); err != nil || d <= 0 {
				bad(k+".ads.attribution_window", "must be a positive duration like 7d or 168h, got %q", a.Ads.AttributionWindow)
			}
		}
	}
	return errors.Join(errs...)
}

// ParseWindow reads a duration that may also be given in days ("7d").
func ParseWindow(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, fmt.Errorf("days must be an integer: %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// Tenants turns the configured apps into the tenant registry.
func (c *Config) Tenants() (*tenant.Registry, error) {
	apps := make([]*tenant.App, 0, len(c.Apps))
	for _, a := range c.Apps {
		tz := a.Timezone
		if tz == "" {
			tz = c.Timezone
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("app %s: time zone %q: %w", a.ID, tz, err)
		}
		window := DefaultAttributionWd
		if a.Ads.AttributionWindow != "" {
			if window, err = ParseWindow(a.Ads.AttributionWindow); err != nil {
				return nil, fmt.Errorf("app %s: attribution_window: %w", a.ID, err)
			}
		}
		apps = append(apps, &tenant.App{
			ID: a.ID, Name: a.Name, WxAppID: a.WxAppID, WxSecret: a.WxSecret, SDKToken: a.SDKToken,
			DataAPIAppID: a.DataAPI.AppID, DataAPISecret: a.DataAPI.AppSecret,
			UserActionSetID: a.Ads.UserActionSetID, AttributionWindow: window, Location: loc,
			Ads:   a.Ads.rules(a.DataAPI.AppID != "", a.WxAppID),
			Relay: a.YoushuRelay.relay(c.Youshu.BaseURL),
			Pull:  a.pull(),
		})
	}
	return tenant.NewRegistry(apps)
}
