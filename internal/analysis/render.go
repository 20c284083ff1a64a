package analysis

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// The roll-up tables (migration 0004 of the embedded store) bucket the
// behaviour events by UTC hour. A day of a zone whose offset is a whole
// number of hours is a whole number of those buckets; for the few zones
// with half- or quarter-hour offsets the analyses scan the raw events in
// quarter-hour buckets (every real offset is a multiple of 15 minutes).
const (
	rollupBucket = 3600
	rawBucket    = 900
)

// sqlData is what the templated queries see. Values a caller chose (dates,
// ids, steps) are never written into the text: they travel as bind
// parameters. Only what the code picks from a fixed set (a column of a
// whitelist, a number of steps, a bucket width) is.
type sqlData struct {
	// Raw makes the session_rows, sku_rows, user_rows and order_event_rows
	// fragments scan the events instead of reading the roll-ups.
	Raw bool
	// Bucket is the width in seconds of the time buckets (column hour).
	Bucket int
	// DaysEnd is the bind parameter that ends the buckets and days the
	// query reads: "$4" (the end of the range) unless a query looks further.
	DaysEnd string

	// StepRollup makes the step_rows fragment read rollup_step_events, which
	// holds the events of event.StepTypes only, instead of the events.
	StepRollup bool

	// PGRollups makes the queries read the roll-ups only PostgreSQL keeps:
	// rollup_orders in the sdk_orders fragment, for the orders whose events
	// all precede the range's end (the others are computed from their
	// events), the day counts (rollup_gaps, rollup_hour_sums, its
	// migration 0013) in overview and pages, for their distinct members and
	// sums per day instead of every per-user row of rollup_sessions and
	// rollup_pages, and the SKUs' range counts (rollup_gaps,
	// rollup_sku_hours, migration 0014) in skus, instead of every row of
	// rollup_skus, and rollup_searches (migration 0015) in search, instead
	// of numbering the range's searches and clicks. Set by render: DuckDB computes the orders in one
	// aggregation and scans those rows column-wise, fast enough.
	PGRollups bool

	// Per analysis.
	Steps         []funnelStep // funnel
	WindowSeconds int          // funnel: the window, the length of its time buckets
	// StepHours (funnel, PostgreSQL) reads the first step's reaches from
	// rollup_step_hours: the step reads the step roll-up and has no
	// qualifier, and the window is whole hours.
	StepHours bool
	Days      []int        // retention: the days after the first visit
	By        string       // funnel: the grouping column of events, "" for none
	Sort      string       // skus: the ORDER BY column
	Dims      []channelDim // channels: the dimensions to report

	Known    []string // events: bind parameters of event.KnownTypes, in order
	Accounts []string // official-account: bind parameters of ?accounts=
	Articles []string // official-account: bind parameters of ?articles=

	// Backend tells the all_orders fragment that the app has backend
	// orders the range can see; BackendFrom is the bind parameter of the
	// earliest create_time among them (see withOrders).
	Backend     bool
	BackendFrom string

	// Window is the bind parameter of the app's attribution window in
	// seconds (ads).
	Window string
}

// withOrders prepares a query that reads the all_orders fragment: it asks
// whether the app has backend orders the range can see and, if so, adds
// the earliest create_time among them to args, so that the backend parts
// run only for apps that report orders and scan only the events they need.
func withOrders(ctx context.Context, st store.Store, q Query, data *sqlData, args []any) ([]any, error) {
	text, err := dialectFile(q.files(st.Dialect()), "sql/backend_window")
	if err != nil {
		return nil, err
	}
	var from sql.NullTime
	if err := st.DB().QueryRowContext(ctx, text, q.App.ID, q.Start(), q.End()).Scan(&from); err != nil {
		return nil, fmt.Errorf("analysis: backend orders of the range: %w", err)
	}
	if !from.Valid {
		return args, nil
	}
	data.Backend = true
	args = append(args, from.Time)
	data.BackendFrom = fmt.Sprintf("$%d", len(args))
	return args, nil
}

func newSQLData(q Query) sqlData {
	d := sqlData{Raw: q.raw, Bucket: rollupBucket, DaysEnd: "$4"}
	if !wholeHours(q) {
		d.Raw, d.Bucket = true, rawBucket
	}
	return d
}

// wholeHours tells whether the app's zone is a whole number of hours away
// from UTC throughout the range (and the month after it, which retention
// reads), so that hour buckets cut its days exactly.
func wholeHours(q Query) bool {
	end := q.End().AddDate(0, 0, 32)
	for t := q.Start().Add(-24 * time.Hour); t.Before(end); t = t.Add(6 * time.Hour) {
		if _, off := t.In(q.App.Location).Zone(); off%3600 != 0 {
			return false
		}
	}
	return true
}

// hashFuncs maps each dialect to its 64-bit hash of a string; the roll-ups
// store hash(user_key) and hash(tracking_id) computed with the same one.
var hashFuncs = map[store.Dialect]string{
	store.DuckDB:   "hash(%s)",
	store.Postgres: "hashtextextended(%s, 0)",
}

// render builds the SQL of name for dialect d, reading the files of
// dialect files: the fragments of sql/common and name's own file, each
// name.<files>.sql where the dialects differ, else name.sql, executed as a
// text/template with data.
func render(d, files store.Dialect, name string, data sqlData) (string, error) {
	hashFmt, ok := hashFuncs[d]
	if !ok {
		return "", fmt.Errorf("query %s: no hash function for dialect %q", name, d)
	}
	data.PGRollups = d == store.Postgres && !data.Raw
	t := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"hash":   func(expr string) string { return fmt.Sprintf(hashFmt, expr) },
		"bucket": d.TimeBucket,
		"lower":  d.Lower,
	})
	d = files
	entries, err := fs.ReadDir(sqlFS, "sql/common")
	if err != nil {
		return "", fmt.Errorf("query %s: fragments: %w", name, err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		base, _, _ := strings.Cut(e.Name(), ".")
		if seen[base] {
			continue
		}
		seen[base] = true
		text, err := dialectFile(d, "sql/common/"+base)
		if err != nil {
			return "", err
		}
		if _, err := t.New(base).Parse(text); err != nil {
			return "", fmt.Errorf("query %s: fragment %s: %w", name, base, err)
		}
	}
	text, err := dialectFile(d, "sql/"+name)
	if err != nil {
		return "", err
	}
	if _, err := t.Parse(text); err != nil {
		return "", fmt.Errorf("query %s: %w", name, err)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("query %s: %w", name, err)
	}
	return b.String(), nil
}

// dialectFile reads file.<dialect>.sql, else file.sql.
func dialectFile(d store.Dialect, file string) (string, error) {
	b, err := fs.ReadFile(sqlFS, file+"."+string(d)+".sql")
	if errors.Is(err, fs.ErrNotExist) {
		b, err = fs.ReadFile(sqlFS, file+".sql")
	}
	if err != nil {
		return "", fmt.Errorf("query %s: %w", path.Base(file), err)
	}
	return string(b), nil
}

// templated runs the templated query name and returns its rows as a Result
// with the columns given.
func templated(ctx context.Context, st store.Store, q Query, name string, cols []Column, data sqlData, args ...any) (*Result, error) {
	text, err := render(st.Dialect(), q.files(st.Dialect()), name, data)
	if err != nil {
		return nil, err
	}
	text, args = compactParams(stripComments(text), args)
	return runSQL(ctx, st, q, name, text, cols, args...)
}

// stripComments drops the -- comments of a query, so that a parameter a
// comment mentions does not count as used.
func stripComments(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		inStr := false
		for j := 0; j+1 < len(l); j++ {
			switch {
			case l[j] == '\'':
				inStr = !inStr
			case !inStr && l[j] == '-' && l[j+1] == '-':
				lines[i] = l[:j]
				j = len(l)
			}
		}
	}
	return strings.Join(lines, "\n")
}

var paramRef = regexp.MustCompile(`\$([0-9]+)`)

// compactParams renumbers the bind parameters a query refers to as $1..$k
// and keeps only their arguments. A templated query need not use every
// parameter (a funnel has no days to cut), but DuckDB's driver numbers the
// values it binds by the parameters the statement uses, so a gap would
// shift every later one.
func compactParams(text string, args []any) (string, []any) {
	used := map[int]int{} // old index -> new index, 1-based
	var kept []any
	for _, m := range paramRef.FindAllStringSubmatch(text, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 || n > len(args) {
			continue // left as written: the database reports it
		}
		if _, ok := used[n]; !ok {
			used[n] = 0
		}
	}
	order := make([]int, 0, len(used))
	for n := range used {
		order = append(order, n)
	}
	sort.Ints(order)
	for i, n := range order {
		used[n] = i + 1
		kept = append(kept, args[n-1])
	}
	if len(kept) == len(args) {
		return text, args
	}
	text = paramRef.ReplaceAllStringFunc(text, func(m string) string {
		n, err := strconv.Atoi(m[1:])
		if err != nil {
			return m
		}
		if to, ok := used[n]; ok {
			return "$" + strconv.Itoa(to)
		}
		return m
	})
	return text, kept
}

// baseArgs are the bind parameters every templated query starts with:
// $1 the zone, $2 the app, $3 and $4 the UTC bounds of the range.
func baseArgs(q Query) []any {
	return []any{q.App.Location.String(), q.App.ID, q.Start(), q.End()}
}
