package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/shuyuan-dev/shuyuan/internal/config"
)

const fullExample = `
admin_key: admin-key-0123456789
timezone: Asia/Shanghai
store: {driver: duckdb, path: /var/lib/shuyuan}
wechat: {base_url: https://api.weixin.qq.com}
youshu: {base_url: https://zhls.qq.com}
apps:
  - id: shop
    name: My shop
    wx_appid: wx8f0c1d2e3a4b5c6d
    wx_secret: wx-secret-value
    sdk_token: sdk-token-value
    data_api: {app_id: ys-app, app_secret: ys-secret}
    ads: {user_action_set_id: 1111015138, attribution_window: 3d}
`

func write(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "shuyuan.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedence(t *testing.T) {
	file := write(t, fullExample)
	c, rest, err := config.Load("serve", []string{"--config", file, "--addr", ":9999", "extra"},
		env(map[string]string{"SHUYUAN_ADDR": ":7777", "SHUYUAN_DATA": "/env/data", "SHUYUAN_APP_SHOP_SDK_TOKEN": "from-env-token"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9999" {
		t.Errorf("flag must win over env: addr %q", c.Addr)
	}
	if c.Store.Path != "/env/data" {
		t.Errorf("env must win over file: path %q", c.Store.Path)
	}
	if c.Apps[0].SDKToken != "from-env-token" {
		t.Errorf("secret from env: %q", c.Apps[0].SDKToken)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Errorf("rest %v", rest)
	}
	reg, err := c.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	app, ok := reg.ByToken("from-env-token")
	if !ok || app.ID != "shop" || app.AttributionWindow != 72*time.Hour || app.UserActionSetID != 1111015138 || app.Location.String() != "Asia/Shanghai" {
		t.Errorf("tenant %+v", app)
	}
	if _, ok := reg.ByToken("sdk-token-valu"); ok {
		t.Error("a prefix of a token matched")
	}
	dump := c.Dump()
	for _, secret := range []string{"admin-key-0123456789", "wx-secret-value", "from-env-token", "ys-secret"} {
		if strings.Contains(dump, secret) {
			t.Errorf("dump shows secret %q:\n%s", secret, dump)
		}
	}
	if !strings.Contains(dump, "ys-app") || !strings.Contains(dump, "******") {
		t.Errorf("dump:\n%s", dump)
	}
}

func TestDefaults(t *testing.T) {
	c, _, err := config.Load("serve", nil, env(map[string]string{"SHUYUAN_ADMIN_KEY": "0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.Store.Path != "./data" || c.Store.Driver != "duckdb" || c.Timezone != "Asia/Shanghai" ||
		c.Limits.MaxBodyBytes != 1<<20 || c.Limits.MaxBatchEvents != 500 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestPostgresDefaults(t *testing.T) {
	c, _, err := config.Load("serve", []string{"--store", "postgres"}, env(map[string]string{
		"SHUYUAN_ADMIN_KEY": "0123456789abcdef", "SHUYUAN_DSN": "postgres://shuyuan:secret@db:5432/shuyuan"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Store.MaxConns != 10 || c.Store.StatementTimeoutDuration() != time.Minute || c.Store.RetentionDays != 0 {
		t.Errorf("postgres defaults: %+v", c.Store)
	}
	if dump := c.Dump(); strings.Contains(dump, "secret") || !strings.Contains(dump, "statement_timeout: 60s") {
		t.Errorf("dump shows the password or not the effective timeout:\n%s", dump)
	}
}

func TestBadConfig(t *testing.T) {
	cases := []struct{ name, file, want string }{
		{"unknown key", "admin_key: 0123456789abcdef\nadmin_kee: x\n", "field admin_kee not found"},
		{"no admin key", "timezone: Asia/Shanghai\n", "admin_key: required"},
		{"short admin key", "admin_key: short\n", "admin_key: must be at least 16"},
		{"bad timezone", "admin_key: 0123456789abcdef\ntimezone: Mars/Olympus\n", "timezone: unknown time zone"},
		{"bad driver", "admin_key: 0123456789abcdef\nstore: {driver: mysql}\n", "store.driver: must be duckdb or postgres"},
		{"postgres without dsn", "admin_key: 0123456789abcdef\nstore: {driver: postgres}\n", "store.dsn: required"},
		{"postgres dsn not a dsn", "admin_key: 0123456789abcdef\nstore: {driver: postgres, dsn: 'localhost'}\n", "store.dsn: must be a postgres:// URL"},
		{"postgres bad timeout", "admin_key: 0123456789abcdef\nstore: {driver: postgres, dsn: 'postgres://x/y', statement_timeout: 5}\n", "store.statement_timeout: must be a duration"},
		{"postgres bad pool", "admin_key: 0123456789abcdef\nstore: {driver: postgres, dsn: 'postgres://x/y', max_conns: -2}\n", "store.max_conns: must be at least 1"},
		{"retention on duckdb", "admin_key: 0123456789abcdef\nstore: {retention_days: 30}\n", "store.retention_days: only the postgres driver"},
		{"app without token", "admin_key: 0123456789abcdef\napps: [{id: a}]\n", "apps[0].sdk_token: required"},
		{"bad app id", "admin_key: 0123456789abcdef\napps: [{id: 'A B', sdk_token: tokentoken}]\n", "apps[0].id: must be"},
		{"duplicate token", "admin_key: 0123456789abcdef\napps: [{id: a, sdk_token: tokentoken}, {id: b, sdk_token: tokentoken}]\n", "apps[1].sdk_token: already used by apps[0]"},
		{"bad wx_appid", "admin_key: 0123456789abcdef\napps: [{id: a, sdk_token: tokentoken, wx_appid: abc}]\n", "apps[0].wx_appid: must be wx"},
		{"half data_api", "admin_key: 0123456789abcdef\napps: [{id: a, sdk_token: tokentoken, data_api: {app_id: x}}]\n", "apps[0].data_api: app_id and app_secret go together"},
		{"bad window", "admin_key: 0123456789abcdef\napps: [{id: a, sdk_token: tokentoken, ads: {attribution_window: soon}}]\n", "apps[0].ads.attribution_window"},
		{"bad url", "admin_key: 0123456789abcdef\nwechat: {base_url: ftp://x}\n", "wechat.base_url: must be an http"},
		{"user without name", "admin_key: 0123456789abcdef\nusers: [{password_bcrypt: '$2a$04$abcdefghijklmnopqrstuu5Y5bqmO3QVUH/3B/6xVxNvLHiH7L1Ne'}]\n", "users[0].name: required"},
		{"password in clear", "admin_key: 0123456789abcdef\nusers: [{name: alice, password_bcrypt: hunter2}]\n", "users[0].password_bcrypt: must be a bcrypt hash"},
		{"user without password", "admin_key: 0123456789abcdef\nusers: [{name: alice}]\n", "users[0].password_bcrypt: must be a bcrypt hash"},
		{"duplicate user", "admin_key: 0123456789abcdef\nusers: [{name: a, password_bcrypt: x}, {name: a, password_bcrypt: y}]\n", "users[1].name: \"a\" already used by users[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := config.Load("serve", []string{"--config", write(t, tc.file)}, env(nil))
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEnvTypeErrors(t *testing.T) {
	_, _, err := config.Load("serve", nil, env(map[string]string{"SHUYUAN_MAX_BATCH": "many"}))
	if err == nil || !strings.Contains(err.Error(), "SHUYUAN_MAX_BATCH: must be an integer") {
		t.Fatalf("got %v", err)
	}
}

func TestUsers(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	file := write(t, "admin_key: 0123456789abcdef\nusers:\n  - name: alice\n    password_bcrypt: '"+string(hash)+"'\n")
	c, _, err := config.Load("serve", []string{"--config", file}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Users) != 1 || c.Users[0].Name != "alice" || c.Users[0].PasswordBcrypt != string(hash) {
		t.Fatalf("users %+v", c.Users)
	}
	if dump := c.Dump(); strings.Contains(dump, string(hash)) || !strings.Contains(dump, "alice") {
		t.Errorf("dump must show the user and hide the hash:\n%s", dump)
	}
}

// TestMetricsAndLimitKeys: metrics_addr and metrics_token come from the
// file, the environment or flags, are validated and the token is masked;
// limits.max_new_event_types has its default and its rule.
func TestMetricsAndLimitKeys(t *testing.T) {
	file := write(t, "admin_key: 0123456789abcdef\nmetrics_addr: 127.0.0.1:9100\nmetrics_token: scrape-token-0123456789\nlimits: {max_new_event_types: 7}\n")
	c, _, err := config.Load("serve", []string{"--config", file}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "127.0.0.1:9100" || c.MetricsToken != "scrape-token-0123456789" || c.Limits.MaxNewEventTypes != 7 {
		t.Errorf("from the file: %q %q %d", c.MetricsAddr, c.MetricsToken, c.Limits.MaxNewEventTypes)
	}
	if dump := c.Dump(); strings.Contains(dump, "scrape-token-0123456789") || !strings.Contains(dump, "metrics_addr: 127.0.0.1:9100") {
		t.Errorf("dump must show metrics_addr and hide metrics_token:\n%s", dump)
	}
	c, _, err = config.Load("serve", []string{"--metrics-addr", ":9200"}, env(map[string]string{
		"SHUYUAN_ADMIN_KEY": "0123456789abcdef", "SHUYUAN_METRICS_ADDR": "127.0.0.1:9300",
		"SHUYUAN_METRICS_TOKEN": "env-scrape-token-0123", "SHUYUAN_MAX_NEW_TYPES": "12",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != ":9200" || c.MetricsToken != "env-scrape-token-0123" || c.Limits.MaxNewEventTypes != 12 {
		t.Errorf("flag over env: %q %q %d", c.MetricsAddr, c.MetricsToken, c.Limits.MaxNewEventTypes)
	}
	c, _, err = config.Load("serve", nil, env(map[string]string{"SHUYUAN_ADMIN_KEY": "0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "" || c.MetricsToken != "" || c.Limits.MaxNewEventTypes != 100 {
		t.Errorf("defaults: %q %q %d", c.MetricsAddr, c.MetricsToken, c.Limits.MaxNewEventTypes)
	}

	for _, tc := range []struct{ name, file, want string }{
		{"metrics_addr without a port", "metrics_addr: localhost\n", "metrics_addr: must be host:port"},
		{"metrics_addr with a bad port", "metrics_addr: 'localhost:http-ish'\n", "metrics_addr: must be host:port"},
		{"metrics_addr the same as addr", "addr: 127.0.0.1:8080\nmetrics_addr: 127.0.0.1:8080\n", "metrics_addr: must differ from addr"},
		{"short metrics_token", "metrics_token: short\n", "metrics_token: must be at least 16 characters"},
		{"no new types", "limits: {max_new_event_types: -1}\n", "limits.max_new_event_types: must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := config.Load("serve", []string{"--config", write(t, "admin_key: 0123456789abcdef\n"+tc.file)}, env(nil))
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
