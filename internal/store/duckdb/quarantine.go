package duckdb

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// quarantineRows collects the quarantine rows of a flush and appends, at
// its end, those not already stored: an SDK re-send carries the same
// invalid events, and the same malformed click ids, again.
type quarantineRows struct {
	rows []quarantineRow
}

type quarantineRow struct {
	app    string
	recv   time.Time
	source string // sdk | attribution
	typ    any    // the event type, or nil
	reason string
	raw    string
}

func (q *quarantineRows) add(app string, recv time.Time, source string, typ any, reason, raw string) {
	q.rows = append(q.rows, quarantineRow{app, recv, source, typ, reason, raw})
}

// write appends the rows whose (app, source, raw) is neither earlier in
// the flush nor stored within window (the events' dedup window) before the
// oldest of them. It returns how many it appended.
func (q *quarantineRows) write(tx *rawTx, window time.Duration) (int, error) {
	if len(q.rows) == 0 {
		return 0, nil
	}
	since := q.rows[0].recv
	for _, r := range q.rows {
		if r.recv.Before(since) {
			since = r.recv
		}
	}
	since = since.Add(-window)
	type key struct{ app, source, raw string }
	seen := make(map[key]bool, len(q.rows))
	var in strings.Builder
	args := []any{since.UTC()}
	for _, r := range q.rows {
		k := key{r.app, r.source, r.raw}
		if seen[k] {
			continue
		}
		seen[k] = false // not known to be stored
		if len(args) > 1 {
			in.WriteByte(',')
		}
		args = append(args, r.raw)
		in.WriteString("$" + strconv.Itoa(len(args)))
	}
	if err := tx.query(`SELECT app_id, source, raw FROM quarantine WHERE received_at >= $1 AND raw IN (`+in.String()+`)`,
		func(v []driver.Value) error {
			app, _ := v[0].(string)
			source, _ := v[1].(string)
			raw, _ := v[2].(string)
			if _, ok := seen[key{app, source, raw}]; ok {
				seen[key{app, source, raw}] = true
			}
			return nil
		}, args...); err != nil {
		return 0, fmt.Errorf("%w: find stored quarantine rows: %v", store.ErrUnavailable, err)
	}
	a := &lazyAppender{tx: tx, table: "quarantine"}
	n := 0
	for _, r := range q.rows {
		k := key{r.app, r.source, r.raw}
		if seen[k] {
			continue
		}
		seen[k] = true
		if err := a.AppendRow(r.app, r.recv.UTC(), r.source, r.typ, r.reason, r.raw); err != nil {
			a.Close() //nolint:errcheck // the append error is the one to report
			return 0, fmt.Errorf("quarantine: %w", err)
		}
		n++
	}
	if err := a.Close(); err != nil {
		return 0, fmt.Errorf("%w: flush quarantine appender: %v", store.ErrUnavailable, err)
	}
	return n, nil
}
