package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// Events are partitioned by UTC day of ts: events_YYYYMMDD holds
// [day 00:00 UTC, next day 00:00 UTC). Days here are storage units, not the
// days reports are cut in (those follow each app's zone).

const day = 24 * time.Hour

func unixDay(t time.Time) int64 { return t.UTC().Truncate(day).Unix() / 86400 }

func partitionName(d int64) string {
	return "events_" + time.Unix(d*86400, 0).UTC().Format("20060102")
}

// retentionMark is the comment retention puts on a partition before it
// detaches it: a table that bears it and is no longer attached is one
// retention left half done (the drop failed, the node died), which the
// next run drops, where a table detached by hand is left alone.
const retentionMark = "shuyuan retention: being dropped"

// loadPartitions reads which partitions exist and take rows (not those
// being detached, to which PostgreSQL routes no row any more), forgetting
// what it knew: another node may have dropped some.
func (s *Store) loadPartitions(ctx context.Context) error {
	days, err := s.partitionDays(ctx, "list event partitions", `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass AND NOT i.inhdetachpending`)
	if err != nil {
		return err
	}
	parts := make(map[int64]bool, len(days))
	for _, d := range days {
		parts[d] = true
	}
	s.partsMu.Lock()
	s.parts = parts
	s.partsMu.Unlock()
	return nil
}

// partitionDays runs q, which selects table names, and returns the days
// of those named as partitions (partitionName).
func (s *Store) partitionDays(ctx context.Context, what, q string, args ...any) ([]int64, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, unavailable(what, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, unavailable(what, err)
	}
	var days []int64
	for _, n := range names {
		if t, err := time.Parse("events_20060102", n); err == nil {
			days = append(days, unixDay(t))
		}
	}
	return days, nil
}

// partition is what the catalog says of the table of a day's partition.
type partition struct {
	exists bool
	marked bool  // it bears retentionMark
	state  *bool // nil: not attached; else whether its detach is pending
}

func (p partition) attached() bool { return p.state != nil && !*p.state }
func (p partition) pending() bool  { return p.state != nil && *p.state }

// lookPartition reads the catalog on the table name, in a transaction or
// on a connection of its own.
func lookPartition(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, name string) (partition, error) {
	var p partition
	err := db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL,
		coalesce(obj_description(to_regclass($1), 'pg_class') = $2, false),
		(SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhparent = 'events'::regclass)`,
		name, retentionMark).Scan(&p.exists, &p.marked, &p.state)
	if err != nil {
		return p, unavailable("look for partition "+name, err)
	}
	return p, nil
}

// ensurePartitions makes sure a partition exists for every UTC day from
// from to to, creating the missing ones in a transaction of their own (so a
// flush never holds the parent's lock while it writes) under a lock that
// makes nodes creating the same day at once harmless. An event for a day
// without a partition therefore never fails: its flush creates it first,
// and, for a day retention is dropping, waits until it is dropped (the
// lock is retention's too) and then makes it anew.
func (s *Store) ensurePartitions(ctx context.Context, from, to time.Time) error {
	var days []int64
	for d := unixDay(from); d <= unixDay(to); d++ {
		days = append(days, d)
	}
	return s.ensureDays(ctx, days)
}

// ensureDays is ensurePartitions for the given days (Unix days).
func (s *Store) ensureDays(ctx context.Context, days []int64) error {
	var missing []int64
	s.partsMu.Lock()
	for _, d := range days {
		if !s.parts[d] {
			missing = append(missing, d)
		}
	}
	s.partsMu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockPartitions); err != nil {
			return unavailable("lock partitions", err)
		}
		for _, d := range missing {
			if err := createPartition(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.partsMu.Lock()
	for _, d := range missing {
		s.parts[d] = true
	}
	s.partsMu.Unlock()
	return nil
}

// createPartition creates and attaches the partition of day d unless it
// exists (under the partitions' lock: then it is attached too). CREATE
// TABLE … PARTITION OF would lock events against every reader and writer
// until the queries running on it end, and every flush would wait behind
// it: an analysis's seconds on the SDK route. ATTACH PARTITION takes a lock
// that lets reads and writes go on; on a new, empty table it has nothing to
// check, and it builds the partition's indexes.
func createPartition(ctx context.Context, tx pgx.Tx, d int64) error {
	name := partitionName(d)
	p, err := lookPartition(ctx, tx, name)
	if err != nil || p.attached() {
		return err
	}
	var qs []string
	switch {
	case p.pending():
		// A detach cut short: no row goes to the partition, nor can
		// another take its days, until it is finished.
		qs = append(qs, `ALTER TABLE events DETACH PARTITION `+name+` FINALIZE`)
	case !p.exists:
		qs = append(qs, `CREATE TABLE `+name+` (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`)
	}
	// A table of the name that is not attached (detached by hand, or by a
	// retention run that did not get to drop it) is attached again, its
	// rows with it, without retention's mark; ATTACH refuses it if it
	// holds rows of other days, or if a column's collation is not its
	// parent's: one detached before migration 0021 is brought to "C" first.
	if p.exists {
		cols, err := tx.Query(ctx, `SELECT format('ALTER TABLE %I ALTER COLUMN %I TYPE %s COLLATE %I',
				$1::text, a.attname, format_type(p.atttypid, p.atttypmod), c.collname)
			FROM pg_attribute a
			JOIN pg_attribute p ON p.attrelid = 'events'::regclass AND p.attname = a.attname
			JOIN pg_collation c ON c.oid = p.attcollation
			WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
			  AND a.attcollation <> p.attcollation`, name)
		if err != nil {
			return unavailable("compare the columns of "+name, err)
		}
		alters, err := pgx.CollectRows(cols, pgx.RowTo[string])
		if err != nil {
			return unavailable("compare the columns of "+name, err)
		}
		qs = append(qs, alters...)
		qs = append(qs, `COMMENT ON TABLE `+name+` IS NULL`)
	}
	lo := time.Unix(d*86400, 0).UTC()
	qs = append(qs, fmt.Sprintf(`ALTER TABLE events ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s')`,
		name, lo.Format(time.RFC3339), lo.Add(day).Format(time.RFC3339)))
	for _, q := range qs {
		if _, err := tx.Exec(ctx, q); err != nil {
			return unavailable("create partition "+name, err)
		}
	}
	return nil
}

// Maintain creates the partitions of the days ahead and, when the store
// keeps a limited number of days, drops the partitions and quarantine
// rows older than that; the roll-ups keep their aggregates, the events
// they did not hold yet included (rollUpDetached). It returns the
// partitions it dropped. Any node may run it: a lock makes runs that
// overlap take turns.
func (s *Store) Maintain(ctx context.Context, now time.Time) ([]string, error) {
	if err := s.loadPartitions(ctx); err != nil {
		return nil, err
	}
	if err := s.ensurePartitions(ctx, now.AddDate(0, 0, -1), now.AddDate(0, 0, s.opt.PartitionsAhead)); err != nil {
		return nil, err
	}
	if s.opt.RetentionDays <= 0 {
		return nil, nil
	}
	cutoff := unixDay(now) - int64(s.opt.RetentionDays)
	left, err := s.partitionDays(ctx, "look for partitions retention left", `SELECT c.relname FROM pg_class c
		LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
		WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
		  AND obj_description(c.oid, 'pg_class') = $1 AND (i.inhrelid IS NULL OR i.inhdetachpending)`, retentionMark)
	if err != nil {
		return nil, err
	}
	// The attached partitions past the cutoff, and what retention began
	// to drop and did not finish (marked, and detached or being detached).
	seen := map[int64]bool{}
	var old []int64
	s.partsMu.Lock()
	for d := range s.parts {
		left = append(left, d)
	}
	s.partsMu.Unlock()
	for _, d := range left {
		if d < cutoff && !seen[d] {
			seen[d] = true
			old = append(old, d)
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i] < old[j] })
	dropped, err := s.dropPartitions(ctx, old)
	var names []string
	s.partsMu.Lock()
	for _, d := range dropped {
		delete(s.parts, d)
		names = append(names, partitionName(d))
	}
	s.partsMu.Unlock()
	if err != nil {
		return names, err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM quarantine WHERE received_at < $1`, time.Unix(cutoff*86400, 0).UTC()); err != nil {
		return names, unavailable("expire quarantine", err)
	}
	return names, nil
}

// dropPartitions drops the partitions of days, in order, and returns the
// days it dropped. DROP TABLE of a partition would lock events as CREATE
// TABLE … PARTITION OF does (createPartition); DETACH PARTITION …
// CONCURRENTLY lets reads and writes go on while it waits for the queries
// that may still read the partition. It cannot run inside a transaction,
// so the partitions' lock is a session lock here, on one connection,
// released before the connection goes back to the pool; a flush that needs
// one of these days waits for it (ensureDays). Each step can be cut short
// (a timeout, a crash): the partition is marked before it is detached, and
// the next run finishes what it finds marked (Maintain).
func (s *Store) dropPartitions(ctx context.Context, days []int64) (dropped []int64, err error) {
	if len(days) == 0 {
		return nil, nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, unavailable("drop partitions", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockPartitions); err != nil {
		// Cut short (ctx), the server may have granted the lock all the same.
		conn.Conn().Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing is the remedy
		return nil, unavailable("lock partitions", err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockPartitions); uerr != nil {
			// A session that may still hold the lock must serve no one
			// else: closed, the pool drops it and the server frees the lock.
			conn.Conn().Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing is the remedy
		}
	}()
	for _, d := range days {
		name := partitionName(d)
		p, err := lookPartition(ctx, conn, name)
		if err != nil {
			return dropped, err
		}
		var qs []string
		switch {
		case !p.exists:
			continue // dropped meanwhile, by another node
		case p.state == nil && !p.marked:
			continue // detached by hand meanwhile: not retention's to drop
		case p.state == nil:
		case p.pending():
			qs = append(qs, `ALTER TABLE events DETACH PARTITION `+name+` FINALIZE`)
		default:
			qs = append(qs, `COMMENT ON TABLE `+name+` IS '`+retentionMark+`'`,
				`ALTER TABLE events DETACH PARTITION `+name+` CONCURRENTLY`)
		}
		for _, q := range qs {
			if _, err := conn.Exec(ctx, q); err != nil {
				return dropped, unavailable("detach partition "+name, err)
			}
		}
		if err := rollUpDetached(ctx, conn, name); err != nil {
			return dropped, fmt.Errorf("drop partition %s: %w", name, err)
		}
		if _, err := conn.Exec(ctx, `DROP TABLE `+name); err != nil {
			return dropped, unavailable("drop partition "+name, err)
		}
		dropped = append(dropped, d)
	}
	return dropped, nil
}
