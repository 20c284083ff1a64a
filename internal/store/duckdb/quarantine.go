package duckdb

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// writeQuarantine appends the flush's quarantine rows but those stored
// within the dedup window before the oldest of them: an SDK re-send
// carries the same invalid events, and the same malformed click ids, again.
func (s *Store) writeQuarantine(tx *rawTx, f *store.Flush) error {
	if len(f.Quarantine) == 0 {
		return nil
	}
	var in strings.Builder
	args := []any{f.QuarantineSince(s.dedupWindow).UTC()}
	for _, r := range f.Quarantine {
		if len(args) > 1 {
			in.WriteByte(',')
		}
		args = append(args, r.Raw)
		in.WriteString("$" + strconv.Itoa(len(args)))
	}
	stored := map[store.QuarantineKey]bool{}
	if err := tx.query(`SELECT app_id, source, raw FROM quarantine WHERE received_at >= $1 AND raw IN (`+in.String()+`)`,
		func(v []driver.Value) error {
			app, _ := v[0].(string)
			source, _ := v[1].(string)
			raw, _ := v[2].(string)
			stored[store.QuarantineKey{App: app, Source: source, Raw: raw}] = true
			return nil
		}, args...); err != nil {
		return fmt.Errorf("%w: find stored quarantine rows: %w", store.ErrUnavailable, err)
	}
	f.DropStoredQuarantine(stored)
	a := &lazyAppender{tx: tx, table: "quarantine"}
	for _, r := range f.Quarantine {
		if err := a.AppendRow(r.App, r.Recv.UTC(), r.Source, store.Nullable(r.Type), r.Reason, r.Raw); err != nil {
			a.Close() //nolint:errcheck // the append error is the one to report
			return fmt.Errorf("quarantine: %w", err)
		}
	}
	if err := a.Close(); err != nil {
		return fmt.Errorf("%w: flush quarantine appender: %w", store.ErrUnavailable, err)
	}
	return nil
}
