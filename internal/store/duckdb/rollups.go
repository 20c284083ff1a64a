package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// rollupVersion names the definition of the roll-ups in rollupStatements.
// Bump it whenever that definition changes: stores whose rollup_state
// names another version rebuild their roll-ups from the events on open.
const rollupVersion = 7

// listSQL writes names as a DuckDB list literal.
func listSQL(names []string) string {
	q := make([]string, len(names))
	for i, t := range names {
		q[i] = "'" + strings.ReplaceAll(t, "'", "''") + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// rollupStatements returns the statements that add the events of evTable
// (contexts in ctxTable) to the roll-up tables of migrations 0004, 0005,
// 0006, 0008, 0009 and 0011.
// RollUp runs them over the events committed since it last ran and a
// rebuild over the whole events table, so both follow one definition.
// internal/analysis holds the same definition as a query over the raw
// events, and its tests check that the two agree. Rows go in by time
// (ORDER BY hour or ts): the analyses read a range of hours, and DuckDB
// skips row groups by their min/max only when the rows are clustered so;
// a hash aggregate over a whole rebuild would scatter them.
func rollupStatements(evTable, ctxTable string) []string {
	const users = `INSERT INTO rollup_users AS u
SELECT app_id, hash(user_key), min(ts), max(union_id)
FROM {ev}
WHERE kind = 'behaviour' AND user_key IS NOT NULL
GROUP BY 1, 2
ON CONFLICT (app_id, uid) DO UPDATE
SET first_ts = least(u.first_ts, excluded.first_ts), union_id = greatest(u.union_id, excluded.union_id)
WHERE excluded.first_ts < u.first_ts OR excluded.union_id > u.union_id
   OR (u.union_id IS NULL AND excluded.union_id IS NOT NULL)`

	// cart_adds and cart_units leave out remove_from_cart: a removal is not
	// an add-to-cart, whatever the SDK calls its event.
	const sessions = `INSERT INTO rollup_sessions
SELECT e.app_id,
       {hour:e.ts} AS hour,
       CASE WHEN e.tracking_id IS NOT NULL THEN hash(e.tracking_id) END AS sid,
       hash(e.user_key) AS uid,
       e.chan_id, e.scene, e.chan_refer_app_id, e.chan_custom_id,
       c.cat_1, c.cat_2, c.cat_3,
       e.guide_id, e.room_id, e.shop_id, e.shop_name,
       count(*),
       count(*) FILTER (WHERE e.type = 'browse_wxapp_page'),
       coalesce(sum(e.stay_ms) FILTER (WHERE e.type = 'leave_wxapp_page'), 0),
       count(*) FILTER (WHERE e.type = 'page_share_app_message'),
       count(*) FILTER (WHERE e.type = 'search'),
       count(*) FILTER (WHERE e.type = 'expose_sku_component'),
       count(*) FILTER (WHERE e.type = 'trigger_sku_component'),
       count(*) FILTER (WHERE e.type = 'browse_sku_page'),
       count(*) FILTER (WHERE e.type = 'add_to_cart' AND e.action_type IS DISTINCT FROM 'remove_from_cart'),
       coalesce(sum(e.sku_num) FILTER (WHERE e.type = 'add_to_cart' AND e.action_type IS DISTINCT FROM 'remove_from_cart'), 0),
       -- ad_id, added by migration 0006, is the table's last column.
       CASE WHEN e.click_id IS NOT NULL THEN coalesce(e.ad_id, '') END
FROM {ev} e
LEFT JOIN (
    SELECT app_id, context_id, cats[1] AS cat_1, cats[2] AS cat_2, cats[3] AS cat_3
    FROM (
        SELECT app_id, context_id,
               json_extract_string(context, ['$.chan.chan_custom.chan_custom_cat_1',
                   '$.chan.chan_custom.chan_custom_cat_2', '$.chan.chan_custom.chan_custom_cat_3']) AS cats
        FROM {ctx}
        -- Parse only the contexts that name a chan_custom: most do not.
        WHERE context_id IN (SELECT context_id FROM {ev} WHERE chan_custom_id IS NOT NULL)
    )
) c ON c.app_id = e.app_id AND c.context_id = e.context_id
WHERE e.kind = 'behaviour' AND e.user_key IS NOT NULL
GROUP BY ALL
ORDER BY hour`

	const skus = `INSERT INTO rollup_skus
SELECT app_id,
       {hour:ts} AS hour,
       sku_id,
       hash(user_key) AS uid,
       max(sku_name),
       count(*) FILTER (WHERE type = 'expose_sku_component'),
       count(*) FILTER (WHERE type = 'trigger_sku_component'),
       count(*) FILTER (WHERE type = 'browse_sku_page'),
       count(*) FILTER (WHERE type = 'add_to_cart' AND action_type IS DISTINCT FROM 'remove_from_cart'),
       coalesce(sum(sku_num) FILTER (WHERE type = 'add_to_cart' AND action_type IS DISTINCT FROM 'remove_from_cart'), 0)
FROM {ev}
WHERE kind = 'behaviour' AND user_key IS NOT NULL AND sku_id IS NOT NULL
  AND type IN ('expose_sku_component', 'trigger_sku_component', 'browse_sku_page', 'add_to_cart')
GROUP BY 1, 2, 3, 4
ORDER BY hour`

	const orders = `INSERT INTO rollup_order_events
SELECT app_id, ts, order_id, order_status, pay_fen, tracking_id, user_key, union_id,
       chan_id, scene, chan_refer_app_id, chan_custom_id, guide_id, room_id, shop_id, shop_name, order_fen
FROM {ev}
WHERE kind = 'behaviour' AND type = 'custom_order' AND order_id IS NOT NULL
ORDER BY ts`

	// Events per hour and type; the user only for types outside
	// event.KnownTypes, whose users rollup_event_users keeps as bits.
	const types = `INSERT INTO rollup_event_types
SELECT app_id,
       {hour:ts} AS hour,
       type, kind,
       CASE WHEN user_key IS NOT NULL AND list_position({known}, type) IS NULL THEN hash(user_key) END AS uid,
       count(*)
FROM {ev}
GROUP BY ALL
ORDER BY hour`

	const typeUsers = `INSERT INTO rollup_event_users
SELECT app_id,
       {hour:ts} AS hour,
       hash(user_key) AS uid,
       bit_or(CAST(1 AS UBIGINT) << CAST(list_position({known}, type) - 1 AS UBIGINT))
FROM {ev}
WHERE user_key IS NOT NULL AND list_position({known}, type) IS NOT NULL
GROUP BY ALL
ORDER BY hour`

	const steps = `INSERT INTO rollup_step_events
SELECT app_id, ts,
       CASE WHEN user_key IS NOT NULL THEN hash(user_key) END,
       CASE WHEN tracking_id IS NOT NULL THEN hash(tracking_id) END,
       type, sku_id, action_type, order_status, keyword, share_to, page,
       guide_id, room_id, ad_id, shop_id, chan_id
FROM {ev}
WHERE list_position({steps}, type) IS NOT NULL
ORDER BY ts`

	const pages = `INSERT INTO rollup_pages
SELECT app_id,
       {hour:ts} AS hour,
       page,
       CASE WHEN user_key IS NOT NULL THEN hash(user_key) END,
       count(*)
FROM {ev}
WHERE type = 'browse_wxapp_page' AND page IS NOT NULL
GROUP BY ALL
ORDER BY hour`

	r := strings.NewReplacer("{ev}", evTable, "{ctx}", ctxTable,
		"{hour:e.ts}", store.DuckDB.TimeBucket("e.ts", 3600), "{hour:ts}", store.DuckDB.TimeBucket("ts", 3600),
		"{known}", listSQL(event.KnownTypes), "{steps}", listSQL(event.StepTypes))
	return []string{r.Replace(users), r.Replace(sessions), r.Replace(skus), r.Replace(orders),
		r.Replace(types), r.Replace(typeUsers), r.Replace(steps), r.Replace(pages)}
}

// RollUp adds the events committed since it last ran (by flush number,
// events.seq) to the roll-ups and records the last flush added, in one
// transaction: after a crash it starts again from the last one recorded,
// so no event is added twice or left out. The ingest transaction does not
// roll up (a dozen statements per flush, each with DuckDB's fixed cost, were
// most of its time); readers of the roll-ups call RollUp first
// (internal/analysis), and a background task keeps the lag short.
func (s *Store) RollUp(ctx context.Context) error {
	if s.seqLoaded.Load() && s.rolled.Load() >= s.seq.Load() {
		return nil // nothing committed since
	}
	var done int64 // the last flush in the roll-ups, once committed
	err := s.inTx(ctx, func(tx *rawTx) error {
		if err := s.loadSeq(tx); err != nil {
			return err
		}
		upto := s.seq.Load() // the writer waits for the lock we hold
		var rolled, states int64
		if err := tx.query(`SELECT coalesce(max(rolled_seq), 0), count(*) FROM rollup_state`, func(v []driver.Value) error {
			rolled, states = toInt64(v[0]), toInt64(v[1])
			return nil
		}); err != nil {
			return fmt.Errorf("%w: roll-ups: read state: %w", store.ErrUnavailable, err)
		}
		if states != 1 {
			return fmt.Errorf("roll-ups: %d state rows, want 1 (migrations not applied?)", states)
		}
		if rolled < upto {
			// The bounds are our own integers; seq grows with insertion
			// order, so DuckDB skips the older row groups by their min/max.
			ev := fmt.Sprintf("(SELECT * FROM events WHERE seq > %d AND seq <= %d)", rolled, upto)
			for _, q := range rollupStatements(ev, "event_contexts") {
				if err := tx.exec(q); err != nil {
					return fmt.Errorf("%w: roll up events: %w", store.ErrUnavailable, err)
				}
			}
			if err := tx.exec(`UPDATE rollup_state SET rolled_seq = $1`, upto); err != nil {
				return fmt.Errorf("%w: roll-ups: write state: %w", store.ErrUnavailable, err)
			}
		}
		done = max(rolled, upto)
		return nil
	})
	if err != nil {
		return err
	}
	s.rolled.Store(done)
	return nil
}

// ensureRollups rebuilds the roll-ups from the events when they were built
// by another roll-up definition or another DuckDB version (whose hash()
// may differ), or never: migration 0004 creates them empty.
func ensureRollups(ctx context.Context, db *sql.DB) error {
	var lib string
	if err := db.QueryRowContext(ctx, `SELECT library_version FROM pragma_version()`).Scan(&lib); err != nil {
		return fmt.Errorf("roll-ups: duckdb version: %w", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM rollup_state WHERE version = $1 AND duckdb_version = $2`,
		rollupVersion, lib).Scan(&n); err != nil {
		return fmt.Errorf("roll-ups: read state: %w", err)
	}
	if n == 1 {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("roll-ups: begin rebuild: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	stmts := []string{`DELETE FROM rollup_users`, `DELETE FROM rollup_sessions`, `DELETE FROM rollup_skus`,
		`DELETE FROM rollup_order_events`, `DELETE FROM rollup_event_types`, `DELETE FROM rollup_event_users`, `DELETE FROM rollup_step_events`, `DELETE FROM rollup_pages`, `DELETE FROM rollup_state`}
	stmts = append(stmts, rollupStatements("events", "event_contexts")...)
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("roll-ups: rebuild: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rollup_state (version, duckdb_version, built_at, rolled_seq)
		VALUES ($1, $2, $3, (SELECT coalesce(max(seq), 0) FROM events))`, rollupVersion, lib, time.Now().UTC()); err != nil {
		return fmt.Errorf("roll-ups: write state: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("roll-ups: commit rebuild: %w", err)
	}
	return nil
}
