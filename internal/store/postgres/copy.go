package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// copyTable is one table a copy moves: the target's columns, and how to
// select them from the source (JSON columns read as text, so any driver
// hands them over as written).
type copyTable struct {
	name    string
	columns []string
	// selects overrides the source expression of a column.
	selects map[string]string
}

// copyTables are the tables a copy moves, in an order that keeps every
// reference valid while it runs. The roll-ups are not copied: RollUp
// derives them from the copied events, as it would from ingested ones.
var copyTables = []copyTable{
	{name: "events", columns: eventColumns[:len(eventColumns)-1], selects: map[string]string{"props": "CAST(props AS VARCHAR)"}},
	{name: "event_contexts", columns: []string{"app_id", "context_id", "context", "first_seen"}, selects: map[string]string{"context": "CAST(context AS VARCHAR)"}},
	{name: "quarantine", columns: []string{"app_id", "received_at", "source", "type", "reason", "raw"}},
	{name: "ad_touches", columns: []string{"app_id", "user_key", "open_id", "union_id", "click_id", "ad_id", "first_seen"}},
	{name: "orders", columns: store.OrderColumns},
	{name: "order_goods", columns: store.GoodsColumns},
	{name: "order_status_history", columns: []string{"app_id", "external_order_id", "status", "status_change_time", "received_at"}},
	{name: "order_sums", columns: []string{"app_id", "ref_date", "give_order_fen", "give_order_num", "payment_fen", "payed_num", "raw", "updated_at"},
		selects: map[string]string{"raw": "CAST(raw AS VARCHAR)"}},
	{name: "wxapp_visit_pages", columns: []string{"app_id", "ref_date", "page_path", "page", "page_visit_pv", "page_visit_uv",
		"page_staytime_pv", "entrypage_pv", "exitpage_pv", "page_share_pv", "page_share_uv", "updated_at", "source"}},
	// What the daily pull of WeChat's data stored, and each day's status.
	{name: "wx_pull_days", columns: []string{"app_id", "family", "day", "status", "attempts", "last_error", "updated_at"}},
	{name: "wx_visit_trends", columns: []string{"app_id", "ref_date", "session_cnt", "visit_pv", "visit_uv", "visit_uv_new",
		"stay_time_uv", "stay_time_session", "visit_depth", "updated_at"}},
	{name: "wx_daily_summaries", columns: []string{"app_id", "ref_date", "visit_total", "share_pv", "share_uv", "updated_at"}},
	{name: "wx_visit_distributions", columns: []string{"app_id", "ref_date", "dist_index", "dist_key", "value", "updated_at"}},
	{name: "oa_user_summaries", columns: []string{"app_id", "ref_date", "user_source", "new_user", "cancel_user", "updated_at"}},
	{name: "oa_user_cumulates", columns: []string{"app_id", "ref_date", "cumulate_user", "updated_at"}},
	{name: "oa_article_days", columns: []string{"app_id", "ref_date", "msgid", "read_user", "share_user", "updated_at"}},
	{name: "oa_biz_summaries", columns: []string{"app_id", "ref_date", "read_user", "share_user", "zaikan_user", "like_user",
		"comment_count", "collection_user", "redirect_ori_page_user", "send_page_count", "updated_at"}},
	{name: "oa_articles", columns: []string{"app_id", "msgid", "publish_date", "title", "content_url", "publish_type", "updated_at"}},
	{name: "oa_article_totals", columns: []string{"app_id", "msgid", "stat_date", "publish_date", "read_user", "share_user",
		"zaikan_user", "like_user", "comment_count", "collection_user", "read_subscribe_user", "updated_at"}},
	{name: "oa_article_markers", columns: []string{"app_id", "marker", "msgid", "matched_by", "title", "link", "link_msgid", "updated_at"}},
	{name: "data_sources", columns: []string{"app_id", "id", "type", "merchant_id", "created_at"}},
	{name: "ad_conversions", columns: append(append([]string{}, conversionColumns...),
		"claimed_until", "last_attempt_at", "delivered_at", "last_error", "last_class", "claimed_by", "resends")},
	{name: "app_state", columns: []string{"app_id", "key", "value", "updated_at"}},
	{name: "data_api_nonces", columns: []string{"app_id", "nonce", "expires_at"}},
}

// CopyProgress reports a copy's progress through one table.
type CopyProgress struct {
	Table   string
	Copied  int64 // rows read from the source so far
	Total   int64 // rows in the source table
	Added   int64 // rows the target did not have yet
	Elapsed time.Duration
	Done    bool
}

// Rate is rows read per second so far.
func (p CopyProgress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Copied) / p.Elapsed.Seconds()
}

// ETA is the time left at the rate so far.
func (p CopyProgress) ETA() time.Duration {
	r := p.Rate()
	if r == 0 || p.Copied >= p.Total {
		return 0
	}
	return time.Duration(float64(p.Total-p.Copied) / r * float64(time.Second))
}

// CopyOptions tune CopyFrom.
type CopyOptions struct {
	// Chunk is the rows of one transaction (default 20,000).
	Chunk int
	// AllowNonEmpty lets the copy write into a database that already holds
	// events, orders or conversions: rows already there are kept and the
	// copy adds the others, so a copy cut short can be run again.
	AllowNonEmpty bool
	// Progress, if set, is told of every chunk and of each table's end.
	Progress func(CopyProgress)
}

// ErrNotEmpty refuses a copy into a database that already holds data.
var ErrNotEmpty = fmt.Errorf("the target database already holds data")

// CopyFrom copies another store's tables (src: the embedded store's DB(),
// whose tables have the same names and columns, read in DuckDB's SQL) into
// this one: events,
// contexts, quarantine, ad touches, orders with their goods and history,
// sums, visit pages, data sources, the outbox with its states, the apps'
// state and the used nonces. Each chunk is one transaction whose INSERT
// skips the rows the target has (by each table's key; quarantine rows by
// all their columns), so a copy can be run again and adds only what is
// missing. Copied events get flush numbers like ingested ones, and RollUp
// at the end derives the roll-ups.
func (s *Store) CopyFrom(ctx context.Context, src *sql.DB, opt CopyOptions) error {
	if opt.Chunk <= 0 {
		opt.Chunk = 20_000
	}
	if !opt.AllowNonEmpty {
		var full bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events) OR EXISTS (SELECT 1 FROM orders)
			OR EXISTS (SELECT 1 FROM ad_conversions)`).Scan(&full); err != nil {
			return unavailable("look at the target", err)
		}
		if full {
			return fmt.Errorf("%w: it has events, orders or conversions; copy into an empty database, or allow a non-empty one to add what it lacks (a copy run again)", ErrNotEmpty)
		}
	}
	if err := s.copyPartitions(ctx, src); err != nil {
		return err
	}
	for _, t := range copyTables {
		if err := s.copyTable(ctx, src, t, opt); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	// The types of unknown kind, which the embedded store reads from its
	// events and this one keeps in a table of its own.
	if _, err := s.pool.Exec(ctx, `INSERT INTO unknown_event_types (app_id, type, first_received)
		SELECT app_id, type, min(received_at) FROM events WHERE kind = 'unknown' GROUP BY app_id, type
		ON CONFLICT (app_id, type) DO UPDATE SET first_received = least(unknown_event_types.first_received, excluded.first_received)`); err != nil {
		return unavailable("copy: the event types of unknown kind", err)
	}
	return s.RollUp(ctx)
}

// copyPartitions creates the partitions of every day the source has events
// on.
func (s *Store) copyPartitions(ctx context.Context, src *sql.DB) error {
	rows, err := src.QueryContext(ctx, `SELECT DISTINCT CAST(floor(epoch(ts) / 86400) AS BIGINT) FROM events`)
	if err != nil {
		return fmt.Errorf("copy: days of the source's events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			return fmt.Errorf("copy: days of the source's events: %w", err)
		}
		at := time.Unix(d*86400, 0)
		if err := s.ensurePartitions(ctx, at, at); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *Store) copyTable(ctx context.Context, src *sql.DB, t copyTable, opt CopyOptions) error {
	p := CopyProgress{Table: t.name}
	if err := src.QueryRowContext(ctx, `SELECT count(*) FROM `+t.name).Scan(&p.Total); err != nil {
		return fmt.Errorf("count source rows: %w", err)
	}
	start := time.Now()
	sel := make([]string, len(t.columns))
	for i, c := range t.columns {
		sel[i] = c
		if e, ok := t.selects[c]; ok {
			sel[i] = e
		}
	}
	// Streamed in the source's own order: sorting a large store would need
	// the embedded store's memory (its limit is small) for nothing, since
	// every row is keyed and the roll-ups are derived afterwards.
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+t.name)
	if err != nil {
		return fmt.Errorf("read source: %w", err)
	}
	defer rows.Close()
	chunk := make([][]any, 0, opt.Chunk)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		added, err := s.copyChunk(ctx, t, chunk)
		if err != nil {
			return err
		}
		p.Copied += int64(len(chunk))
		p.Added += added
		p.Elapsed = time.Since(start)
		chunk = chunk[:0]
		if opt.Progress != nil {
			opt.Progress(p)
		}
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(t.columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read source: %w", err)
		}
		for i, v := range vals {
			vals[i] = copyValue(v)
		}
		chunk = append(chunk, vals)
		if len(chunk) >= opt.Chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read source: %w", err)
	}
	if err := flush(); err != nil {
		return err
	}
	p.Done, p.Elapsed = true, time.Since(start)
	if opt.Progress != nil {
		opt.Progress(p)
	}
	return nil
}

// copyValue turns what the source's driver scanned into what pgx writes.
func copyValue(v any) any {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case uint64:
		return int64(x)
	case []byte:
		return string(x)
	}
	return v
}

// copyChunk writes rows of t in one transaction and returns how many the
// target did not have. Events take a flush number like a flush of the
// ingest, under the same lock, so the roll-up barrier sees them.
func (s *Store) copyChunk(ctx context.Context, t copyTable, rows [][]any) (int64, error) {
	var added int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cols := t.columns
		if t.name == "events" {
			seq, err := beginFlush(ctx, tx)
			if err != nil {
				return err
			}
			for i := range rows {
				rows[i] = append(rows[i], seq)
			}
			cols = eventColumns
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS copy_`+t.name+` (LIKE `+t.name+`) ON COMMIT DELETE ROWS`); err != nil {
			return unavailable("staging", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"copy_" + t.name}, cols, pgx.CopyFromRows(rows)); err != nil {
			return unavailable("stage rows", err)
		}
		list := strings.Join(cols, ", ")
		q := `INSERT INTO ` + t.name + ` (` + list + `) SELECT ` + list + ` FROM copy_` + t.name + ` ON CONFLICT DO NOTHING`
		if t.name == "quarantine" {
			// No key: a row is there when every column is.
			q = `INSERT INTO quarantine (` + list + `) SELECT ` + list + ` FROM copy_quarantine c
				WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.app_id = c.app_id AND q.received_at = c.received_at
					AND q.source = c.source AND q.type IS NOT DISTINCT FROM c.type AND q.reason = c.reason AND q.raw = c.raw)`
		}
		tag, err := tx.Exec(ctx, q)
		if err != nil {
			return unavailable("insert rows", err)
		}
		added = tag.RowsAffected()
		return nil
	})
	return added, err
}
