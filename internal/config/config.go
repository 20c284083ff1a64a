// Package config is shuyuan's one configuration surface: command-line flags,
// each with a SHUYUAN_* environment fallback, over an optional YAML file,
// validated at start, and dumped with secrets masked.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// Config is the effective configuration.
type Config struct {
	Addr     string `yaml:"addr"`
	AdminKey string `yaml:"admin_key"`
	// MetricsAddr, if set, serves /metrics (with /healthz and /readyz) on
	// its own address and not on addr, for merchants who expose addr to
	// the internet.
	MetricsAddr string `yaml:"metrics_addr"`
	// MetricsToken, if set, is required on /metrics as
	// "Authorization: Bearer <token>".
	MetricsToken string `yaml:"metrics_token"`
	Timezone     string `yaml:"timezone"`
	Store        Store  `yaml:"store"`
	WeChat       WeChat `yaml:"wechat"`
	Youshu       URL    `yaml:"youshu"`
	Limits       Limits `yaml:"limits"`
	Apps         []App  `yaml:"apps"`
	// Users may log in to the dashboard besides the admin key. Only the
	// bcrypt hash of each password is kept (make one with
	// `htpasswd -nbBC 10 "" 'password' | cut -d: -f2`), so the file holds
	// no password in clear:
	//
	//	users:
	//	  - name: alice
	//	    password_bcrypt: $2y$10$...
	Users []User `yaml:"users"`

	// Set by flags or environment only.
	File      string `yaml:"-"`
	Demo      bool   `yaml:"-"`
	NoMigrate bool   `yaml:"-"`
	LogLevel  string `yaml:"-"`
}

// User is one dashboard login.
type User struct {
	Name           string `yaml:"name"`
	PasswordBcrypt string `yaml:"password_bcrypt"`
}

// Store chooses and tunes the store.
type Store struct {
	Driver      string `yaml:"driver"` // duckdb | postgres
	Path        string `yaml:"path"`   // duckdb: data directory
	DSN         string `yaml:"dsn"`    // postgres: connection string
	MemoryLimit string `yaml:"memory_limit"`
	Threads     int    `yaml:"threads"`
	// postgres: the connection pool's size per node, the longest a
	// statement may run, and how many days of raw events are kept (0:
	// forever; older day partitions are dropped, the roll-ups stay).
	MaxConns         int    `yaml:"max_conns"`
	StatementTimeout string `yaml:"statement_timeout"`
	RetentionDays    int    `yaml:"retention_days"`
	// Intake is how SDK uploads are acknowledged: "log" (the embedded
	// store's default) appends each to the intake log in the data
	// directory, fsynced, and a loader moves them into the store in bulk;
	// "direct" answers once the store has committed them (the only mode
	// on postgres: a stateless node has no disk of its own to trust).
	Intake string `yaml:"intake"`
	// IntakeMaxBacklog bounds the bytes accepted and not yet loaded: past
	// it uploads get the SDK's retryable error (default 512 MiB).
	IntakeMaxBacklog int64 `yaml:"intake_max_backlog"`
	// IntakeWait bounds how long an analysis waits for the loader to
	// reach what was accepted before it asked (default 10s); then it
	// answers with what is loaded and says so.
	IntakeWait string `yaml:"intake_wait"`
	// IntakeSegmentBytes is the size of the intake log's files (default
	// 64 MiB); a file is deleted once every upload in it is loaded.
	IntakeSegmentBytes int64 `yaml:"intake_segment_bytes"`
}

// Defaults of the intake log.
const (
	DefaultIntakeMaxBacklog   = 512 << 20
	DefaultIntakeWait         = "10s"
	DefaultIntakeSegmentBytes = 64 << 20
)

// IntakeWaitDuration is store.intake_wait as a duration (0 if it does not
// parse; Validate reports that).
func (s Store) IntakeWaitDuration() time.Duration {
	d, _ := time.ParseDuration(s.IntakeWait)
	return d
}

// DefaultMemoryLimit is DuckDB's memory cap unless store.memory_limit
// says otherwise (internal/store/duckdb applies the same).
const DefaultMemoryLimit = "300MB"

// DefaultAttributionWindow is an app's attribution window unless
// ads.attribution_window says otherwise (attribution.DefaultWindow).
const DefaultAttributionWindow = "7d"

// Defaults of the PostgreSQL store's options.
const (
	DefaultMaxConns         = 10
	DefaultStatementTimeout = "60s"
)

// StatementTimeoutDuration is store.statement_timeout as a duration (0 if
// it does not parse; Validate reports that).
func (s Store) StatementTimeoutDuration() time.Duration {
	d, _ := time.ParseDuration(s.StatementTimeout)
	return d
}

// URL is a base URL of an upstream service.
type URL struct {
	BaseURL string `yaml:"base_url"`
}

// WeChat is where WeChat is and how conversions are delivered to it.
type WeChat struct {
	BaseURL string `yaml:"base_url"`
	// OutboxLease is how long a node holds the conversions it took for
	// one delivery round; a node that dies holding them has them taken
	// by another once it runs out (default 5m: longer than a round's
	// calls, so a slow round is never sent twice on the wire).
	OutboxLease string `yaml:"outbox_lease"`
}

// DefaultOutboxLease is wechat.outbox_lease's default.
const DefaultOutboxLease = "5m"

// OutboxLeaseDuration is wechat.outbox_lease as a duration (0 if it does
// not parse; Validate reports that).
func (w WeChat) OutboxLeaseDuration() time.Duration {
	d, _ := time.ParseDuration(w.OutboxLease)
	return d
}

// Limits bound what one request may carry.
type Limits struct {
	MaxBodyBytes   int64 `yaml:"max_body_bytes"`
	MaxBatchEvents int   `yaml:"max_batch_events"`
	// MaxNewEventTypes caps the event types of unknown kind an app may
	// start storing per local day (docs/sdk.md).
	MaxNewEventTypes int `yaml:"max_new_event_types"`
}

// App is one mini-program.
type App struct {
	ID       string  `yaml:"id"`
	Name     string  `yaml:"name"`
	Timezone string  `yaml:"timezone"`
	WxAppID  string  `yaml:"wx_appid"`
	WxSecret string  `yaml:"wx_secret"`
	SDKToken string  `yaml:"sdk_token"`
	DataAPI  DataAPI `yaml:"data_api"`
	Ads      Ads     `yaml:"ads"`
	// OfficialAccount and WechatPull configure the daily pull of WeChat's
	// own data (pull.go).
	OfficialAccount OfficialAccount `yaml:"official_account,omitempty"`
	WechatPull      WechatPull      `yaml:"wechat_pull,omitempty"`
	// YoushuRelay forwards accepted data to the real Youshu (relay.go).
	YoushuRelay YoushuRelay `yaml:"youshu_relay"`
}

// DataAPI are the credentials the merchant's backend signs with.
type DataAPI struct {
	AppID     string `yaml:"app_id"`
	AppSecret string `yaml:"app_secret"`
}

// Ads configures the WeChat Ads loop of an app.
type Ads struct {
	UserActionSetID   int64  `yaml:"user_action_set_id"`
	AttributionWindow string `yaml:"attribution_window"`
	// The conversion rules and delivery settings; see ads.go.
	OrderSource       string `yaml:"order_source,omitempty"`
	LeadEvent         string `yaml:"lead_event,omitempty"`
	LeadAction        string `yaml:"lead_action,omitempty"`
	SendOuterActionID *bool  `yaml:"send_outer_action_id,omitempty"`
	URL               string `yaml:"url,omitempty"`
	ClassicToken      bool   `yaml:"classic_token,omitempty"`
	RetryBudget       string `yaml:"retry_budget,omitempty"`
}

// Defaults.
const (
	DefaultAddr          = "127.0.0.1:8080"
	DefaultData          = "./data"
	DefaultMaxBody       = 1 << 20
	DefaultMaxBatch      = 500
	DefaultWeChatURL     = "https://api.weixin.qq.com"
	DefaultYoushuURL     = "https://zhls.qq.com"
	DefaultAttributionWd = 7 * 24 * time.Hour
)

// option is one row of the options table: a flag, its environment variable
// and where its value goes.
type option struct {
	flag, env, usage string
	str              *string
	boolean          *bool
	integer          *int
	int64            *int64
}

func (c *Config) options() []option {
	return []option{
		{flag: "addr", env: "SHUYUAN_ADDR", usage: "address to listen on", str: &c.Addr},
		{flag: "data", env: "SHUYUAN_DATA", usage: "data directory of the embedded store", str: &c.Store.Path},
		{flag: "config", env: "SHUYUAN_CONFIG", usage: "optional YAML config file", str: &c.File},
		{flag: "admin-key", env: "SHUYUAN_ADMIN_KEY", usage: "admin key for /api/v1, /wx and the dashboard", str: &c.AdminKey},
		{flag: "metrics-addr", env: "SHUYUAN_METRICS_ADDR", usage: "serve /metrics on this address instead of addr", str: &c.MetricsAddr},
		{flag: "metrics-token", env: "SHUYUAN_METRICS_TOKEN", usage: "bearer token /metrics requires", str: &c.MetricsToken},
		{flag: "timezone", env: "SHUYUAN_TIMEZONE", usage: "default time zone days are cut in", str: &c.Timezone},
		{flag: "store", env: "SHUYUAN_STORE", usage: "store driver: duckdb or postgres", str: &c.Store.Driver},
		{flag: "dsn", env: "SHUYUAN_DSN", usage: "PostgreSQL connection string (store postgres)", str: &c.Store.DSN},
		{flag: "memory-limit", env: "SHUYUAN_MEMORY_LIMIT", usage: "DuckDB memory limit (default 300MB), e.g. 1GB", str: &c.Store.MemoryLimit},
		{flag: "threads", env: "SHUYUAN_THREADS", usage: "DuckDB threads (0: one per core)", integer: &c.Store.Threads},
		{flag: "max-conns", env: "SHUYUAN_MAX_CONNS", usage: "PostgreSQL connections per node (default 10)", integer: &c.Store.MaxConns},
		{flag: "statement-timeout", env: "SHUYUAN_STATEMENT_TIMEOUT", usage: "PostgreSQL statement timeout (default 60s)", str: &c.Store.StatementTimeout},
		{flag: "retention-days", env: "SHUYUAN_RETENTION_DAYS", usage: "PostgreSQL: days of raw events kept (0: forever)", integer: &c.Store.RetentionDays},
		{flag: "intake", env: "SHUYUAN_INTAKE", usage: "how SDK uploads are acknowledged: log (duckdb default) or direct", str: &c.Store.Intake},
		{flag: "intake-max-backlog", env: "SHUYUAN_INTAKE_MAX_BACKLOG", usage: "intake log: bytes accepted and not loaded before uploads are refused for a retry (default 512 MiB)", int64: &c.Store.IntakeMaxBacklog},
		{flag: "intake-wait", env: "SHUYUAN_INTAKE_WAIT", usage: "intake log: how long an analysis waits for the loader (default 10s)", str: &c.Store.IntakeWait},
		{flag: "intake-segment-bytes", env: "SHUYUAN_INTAKE_SEGMENT_BYTES", usage: "intake log: size of its files (default 64 MiB)", int64: &c.Store.IntakeSegmentBytes},
		{flag: "wechat-url", env: "SHUYUAN_WECHAT_URL", usage: "base URL of the WeChat API", str: &c.WeChat.BaseURL},
		{flag: "outbox-lease", env: "SHUYUAN_OUTBOX_LEASE", usage: "how long a node holds the conversions of one delivery round (default 5m)", str: &c.WeChat.OutboxLease},
		{flag: "youshu-url", env: "SHUYUAN_YOUSHU_URL", usage: "base URL of the Youshu upstream", str: &c.Youshu.BaseURL},
		{flag: "max-body", env: "SHUYUAN_MAX_BODY", usage: "largest request body in bytes", int64: &c.Limits.MaxBodyBytes},
		{flag: "max-batch", env: "SHUYUAN_MAX_BATCH", usage: "most events in one SDK upload", integer: &c.Limits.MaxBatchEvents},
		{flag: "max-new-types", env: "SHUYUAN_MAX_NEW_TYPES", usage: "most new unknown event types an app may start storing per day", integer: &c.Limits.MaxNewEventTypes},
		{flag: "demo", env: "SHUYUAN_DEMO", usage: "create a demo app and fill an empty store with generated data", boolean: &c.Demo},
		{flag: "no-migrate", env: "SHUYUAN_NO_MIGRATE", usage: "do not apply migrations at start", boolean: &c.NoMigrate},
		{flag: "log-level", env: "SHUYUAN_LOG_LEVEL", usage: "debug, info, warn or error", str: &c.LogLevel},
	}
}

// Load reads the configuration: defaults, then the file (from --config or
// SHUYUAN_CONFIG), then environment variables, then flags given on the
// command line. getenv is os.Getenv outside tests. It returns the remaining
// arguments.
func Load(name string, args []string, getenv func(string) string) (*Config, []string, error) {
	return LoadCommand(flag.NewFlagSet(name, flag.ContinueOnError), args, getenv)
}

// LoadCommand is Load for a command whose own flags are defined on fs: the
// configuration's flags are added beside them and args are parsed once.
// Asked for help (-h), it returns flag.ErrHelp, and fs can print every
// flag (PrintDefaults).
func LoadCommand(fs *flag.FlagSet, args []string, getenv func(string) string) (*Config, []string, error) {
	var c Config
	opts := c.options()

	// Flags are parsed into a scratch config first so that the file, which
	// they override, can be read before them.
	var fromFlags Config
	fs.SetOutput(new(bytes.Buffer))
	for _, o := range fromFlags.options() {
		usage := fmt.Sprintf("%s (env %s)", o.usage, o.env)
		switch {
		case o.str != nil:
			fs.StringVar(o.str, o.flag, "", usage)
		case o.boolean != nil:
			fs.BoolVar(o.boolean, o.flag, false, usage)
		case o.integer != nil:
			fs.IntVar(o.integer, o.flag, 0, usage)
		case o.int64 != nil:
			fs.Int64Var(o.int64, o.flag, 0, usage)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		var buf bytes.Buffer
		fs.SetOutput(&buf)
		fs.PrintDefaults()
		return nil, nil, fmt.Errorf("%w\n%s", err, buf.String())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	file := fromFlags.File
	if file == "" {
		file = getenv("SHUYUAN_CONFIG")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("config file %s: %w", file, err)
		}
		c.File = file
	}

	flagOpts := fromFlags.options()
	for i, o := range opts {
		if set[o.flag] {
			copyOpt(o, flagOpts[i])
			continue
		}
		if v := getenv(o.env); v != "" {
			if err := setFromString(o, v); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", o.env, err)
			}
		}
	}
	c.secretsFromEnv(getenv)
	c.defaults()
	return &c, fs.Args(), nil
}

func copyOpt(dst, src option) {
	switch {
	case dst.str != nil:
		*dst.str = *src.str
	case dst.boolean != nil:
		*dst.boolean = *src.boolean
	case dst.integer != nil:
		*dst.integer = *src.integer
	case dst.int64 != nil:
		*dst.int64 = *src.int64
	}
}

func setFromString(o option, v string) error {
	switch {
	case o.str != nil:
		*o.str = v
	case o.boolean != nil:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("must be true or false, got %q", v)
		}
		*o.boolean = b
	case o.integer != nil:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("must be an integer, got %q", v)
		}
		*o.integer = n
	case o.int64 != nil:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("must be an integer, got %q", v)
		}
		*o.int64 = n
	}
	return nil
}

// EnvName is the environment prefix of an app's secrets:
// SHUYUAN_APP_<ID>_, the id upper-cased with other characters as '_'.
func EnvName(appID string) string {
	var b strings.Builder
	b.WriteString("SHUYUAN_APP_")
	for _, r := range strings.ToUpper(appID) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteByte('_')
	return b.String()
}

// secretsFromEnv lets every secret come from the environment instead of
// the file: SHUYUAN_APP_<ID>_WX_SECRET, _SDK_TOKEN, _DATA_API_SECRET,
// _OA_SECRET, _YOUSHU_RELAY_SDK_TOKEN, _YOUSHU_RELAY_DATA_API_SECRET.
func (c *Config) secretsFromEnv(getenv func(string) string) {
	for i := range c.Apps {
		a := &c.Apps[i]
		p := EnvName(a.ID)
		for key, dst := range map[string]*string{
			"WX_SECRET": &a.WxSecret, "SDK_TOKEN": &a.SDKToken, "DATA_API_SECRET": &a.DataAPI.AppSecret,
			"OA_SECRET":                    &a.OfficialAccount.Secret,
			"YOUSHU_RELAY_SDK_TOKEN":       &a.YoushuRelay.SDKToken,
			"YOUSHU_RELAY_DATA_API_SECRET": &a.YoushuRelay.DataAPI.AppSecret,
		} {
			if v := getenv(p + key); v != "" {
				*dst = v
			}
		}
	}
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Store.Driver == "" {
		c.Store.Driver = "duckdb"
	}
	if c.Store.Path == "" {
		c.Store.Path = DefaultData
	}
	if c.Store.Intake == "" {
		c.Store.Intake = "log"
		if c.Store.Driver == "postgres" {
			c.Store.Intake = "direct"
		}
	}
	if c.Store.Intake == "log" {
		if c.Store.IntakeMaxBacklog == 0 {
			c.Store.IntakeMaxBacklog = DefaultIntakeMaxBacklog
		}
		if c.Store.IntakeWait == "" {
			c.Store.IntakeWait = DefaultIntakeWait
		}
		if c.Store.IntakeSegmentBytes == 0 {
			c.Store.IntakeSegmentBytes = DefaultIntakeSegmentBytes
		}
	}
	if c.Store.Driver == "postgres" {
		if c.Store.MaxConns == 0 {
			c.Store.MaxConns = DefaultMaxConns
		}
		if c.Store.StatementTimeout == "" {
			c.Store.StatementTimeout = DefaultStatementTimeout
		}
	}
	if c.Timezone == "" {
		c.Timezone = tenant.DefaultTimezone
	}
	if c.WeChat.BaseURL == "" {
		c.WeChat.BaseURL = DefaultWeChatURL
	}
	if c.WeChat.OutboxLease == "" {
		c.WeChat.OutboxLease = DefaultOutboxLease
	}
	if c.Youshu.BaseURL == "" {
		c.Youshu.BaseURL = DefaultYoushuURL
	}
	if c.Limits.MaxBodyBytes == 0 {
		c.Limits.MaxBodyBytes = DefaultMaxBody
	}
	if c.Limits.MaxBatchEvents == 0 {
		c.Limits.MaxBatchEvents = DefaultMaxBatch
	}
	if c.Limits.MaxNewEventTypes == 0 {
		c.Limits.MaxNewEventTypes = collect.DefaultMaxNewTypes
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
}
