// Package analysis answers the questions merchants ask of their data, as
// tables the JSON API, the CSV export and the dashboard all render.
package analysis

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

//go:embed sql
var sqlFS embed.FS

// MaxDays is the longest range one analysis covers.
const MaxDays = 366

// Query is what an analysis is asked: an app, a range of local days
// (inclusive) and analysis-specific parameters.
type Query struct {
	App    *tenant.App
	From   time.Time // local midnight of the first day, in App.Location
	To     time.Time // local midnight of the last day
	Params url.Values

	// raw makes the analyses scan the raw events instead of the roll-ups;
	// the tests use it to prove both give the same figures.
	raw bool
	// portable makes them read the SQL files shared with PostgreSQL, not
	// the embedded store's own: the tests prove both give the same figures.
	portable bool
}

// files is the dialect whose SQL files q reads on a store of dialect d.
func (q Query) files(d store.Dialect) store.Dialect {
	if q.portable {
		return "portable"
	}
	return d
}

// Start and End are the UTC bounds of the range: [Start, End).
func (q Query) Start() time.Time { return q.From.UTC() }

// End is the instant after the last day.
func (q Query) End() time.Time { return q.To.AddDate(0, 0, 1).UTC() }

// BadRequest is an error in the question, not in answering it.
type BadRequest struct{ Field, Rule string }

func (e *BadRequest) Error() string { return e.Field + ": " + e.Rule }

// ParseQuery reads from and to (YYYY-MM-DD, days in the app's zone).
func ParseQuery(app *tenant.App, from, to string, params url.Values) (Query, error) {
	q := Query{App: app, Params: params}
	// Values go to the store as bind parameters, which must be text: a
	// value of invalid UTF-8 failed there as "analysis failed" (found by
	// FuzzQuery).
	for name, vals := range params {
		for _, v := range vals {
			if !utf8.ValidString(v) {
				return q, &BadRequest{name, "must be valid UTF-8 text"}
			}
		}
	}
	var err error
	if q.From, err = parseDay(app, "from", from); err != nil {
		return q, err
	}
	if q.To, err = parseDay(app, "to", to); err != nil {
		return q, err
	}
	if q.To.Before(q.From) {
		return q, &BadRequest{"to", "must not be before from"}
	}
	if days := int(q.To.Sub(q.From).Hours()/24) + 1; days > MaxDays {
		return q, &BadRequest{"to", fmt.Sprintf("range is %d days; at most %d", days, MaxDays)}
	}
	return q, nil
}

func parseDay(app *tenant.App, field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, &BadRequest{field, "required (YYYY-MM-DD)"}
	}
	t, err := time.ParseInLocation("2006-01-02", s, app.Location)
	if err != nil {
		return time.Time{}, &BadRequest{field, fmt.Sprintf("must be a date YYYY-MM-DD, got %q", s)}
	}
	return t, nil
}

// Column describes one column of a result.
type Column struct {
	Name  string `json:"name"`
	Type  string `json:"type"` // day, string, int, fen, ratio, ms
	Label string `json:"label,omitempty"`
}

// Result is a table: named, typed columns and rows in column order.
type Result struct {
	Analysis string   `json:"analysis"`
	App      string   `json:"app"`
	From     string   `json:"from"`
	To       string   `json:"to"`
	Timezone string   `json:"timezone"`
	Columns  []Column `json:"columns"`
	Rows     [][]any  `json:"rows"`
	// Unloaded, when set, says the answer misses uploads that were
	// acknowledged but not yet stored: the intake log's loader did not
	// catch up within store.intake_wait.
	Unloaded *store.Unloaded `json:"unloaded,omitempty"`
}

// Analysis is one named analysis.
type Analysis struct {
	Name        string
	Description string
	// Params are the request parameters it reads besides from and to;
	// the API index lists them and the dashboard draws a form from them.
	Params []Param
	Run    func(ctx context.Context, st store.Store, q Query) (*Result, error)
}

// Param is a request parameter of an analysis.
type Param struct {
	Name string `json:"name"`
	// Default is the value used when the parameter is absent ("": none).
	Default string `json:"default,omitempty"`
	// Options are the accepted values when they form a closed list.
	Options []string `json:"options,omitempty"`
}

// oneOf checks that v is one of p's options, else names them in the error.
func (p Param) oneOf(v string) error {
	if slices.Contains(p.Options, v) {
		return nil
	}
	return &BadRequest{p.Name, fmt.Sprintf("must be one of %s; got %q", strings.Join(p.Options, ", "), v)}
}

var registry = map[string]Analysis{}

func register(a Analysis) {
	if _, dup := registry[a.Name]; dup {
		panic("analysis registered twice: " + a.Name) // programming error at init
	}
	run := a.Run
	a.Run = func(ctx context.Context, st store.Store, q Query) (*Result, error) {
		// The roll-ups lag the committed events (store.EventStore.RollUp):
		// bring them up to date so that the answer counts every stored
		// event.
		ctx, note := store.WatchUnloaded(ctx)
		if err := st.RollUp(ctx); err != nil {
			return nil, fmt.Errorf("analysis %s: %w", a.Name, err)
		}
		res, err := run(ctx, st, q)
		if res != nil {
			res.Unloaded = note.Get()
		}
		return res, err
	}
	registry[a.Name] = a
}

// Get finds an analysis by name.
func Get(name string) (Analysis, bool) {
	a, ok := registry[name]
	return a, ok
}

// All lists the analyses by name.
func All() []Analysis {
	out := make([]Analysis, 0, len(registry))
	for _, a := range registry {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// querySQL returns the SQL of name for the store's dialect: name.<dialect>.sql
// where the dialects differ, else name.sql.
func querySQL(d store.Dialect, name string) (string, error) {
	b, err := fs.ReadFile(sqlFS, "sql/"+name+"."+string(d)+".sql")
	if errors.Is(err, fs.ErrNotExist) {
		b, err = fs.ReadFile(sqlFS, "sql/"+name+".sql")
	}
	if err != nil {
		return "", fmt.Errorf("query %s: %w", name, err)
	}
	return string(b), nil
}

// sessionSQL is the dialect's settings for analyses, if it has any.
func sessionSQL(d store.Dialect) (string, bool) {
	b, err := fs.ReadFile(sqlFS, "sql/session."+string(d)+".sql")
	if err != nil {
		return "", false
	}
	return stripComments(string(b)), true
}

// table runs a query and returns its rows as a Result with the columns given.
func table(ctx context.Context, st store.Store, q Query, name string, cols []Column, args ...any) (*Result, error) {
	text, err := querySQL(st.Dialect(), name)
	if err != nil {
		return nil, err
	}
	return runSQL(ctx, st, q, name, text, cols, args...)
}

// runSQL runs the query text and returns its rows as a Result named name
// with the columns given.
func runSQL(ctx context.Context, st store.Store, q Query, name, text string, cols []Column, args ...any) (*Result, error) {
	// A dialect with settings for analyses (sql/session.<dialect>.sql)
	// gets them in a read-only transaction of the analysis's own.
	query := st.DB().QueryContext
	if settings, ok := sessionSQL(st.Dialect()); ok {
		tx, err := st.DB().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, fmt.Errorf("analysis %s: %w", name, err)
		}
		defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
		if _, err := tx.ExecContext(ctx, settings); err != nil {
			return nil, fmt.Errorf("analysis %s: session settings: %w", name, err)
		}
		query = tx.QueryContext
	}
	rows, err := query(ctx, text, args...)
	if err != nil {
		return nil, fmt.Errorf("analysis %s: %w", name, err)
	}
	defer rows.Close()
	res := &Result{
		Analysis: name, App: q.App.ID, From: q.From.Format("2006-01-02"), To: q.To.Format("2006-01-02"),
		Timezone: q.App.Location.String(), Columns: cols, Rows: [][]any{},
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("analysis %s: scan: %w", name, err)
		}
		for i, v := range vals {
			vals[i] = normalise(v)
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analysis %s: %w", name, err)
	}
	return res, nil
}

// normalise gives every driver's values the same JSON shape.
func normalise(v any) any {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case uint64:
		return int64(x)
	case int:
		return int64(x)
	case *big.Int: // DuckDB's HUGEINT, e.g. an uncast sum
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case []byte:
		return string(x)
	case time.Time:
		return x.Format("2006-01-02")
	case string:
		return strings.Clone(x)
	}
	return v
}
