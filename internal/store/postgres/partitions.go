package postgres

import (
	"context"
	"errors"
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

// loadPartitions reads which partitions exist.
func (s *Store) loadPartitions(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass`)
	if err != nil {
		return unavailable("list event partitions", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return unavailable("list event partitions", err)
	}
	s.partsMu.Lock()
	defer s.partsMu.Unlock()
	for _, n := range names {
		if t, err := time.Parse("events_20060102", n); err == nil {
			s.parts[unixDay(t)] = true
		}
	}
	return nil
}

// ensurePartitions makes sure a partition exists for every UTC day from
// from to to, creating the missing ones in a transaction of their own (so a
// flush never holds the parent's lock while it writes) under a lock that
// makes nodes creating the same day at once harmless. An event for a day
// without a partition therefore never fails: its flush creates it first.
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
	var exists, attached bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL,
		EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhparent = 'events'::regclass)`,
		name).Scan(&exists, &attached); err != nil {
		return unavailable("look for partition "+name, err)
	}
	if attached {
		return nil
	}
	var qs []string
	if !exists {
		qs = append(qs, `CREATE TABLE `+name+` (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`)
	}
	// A table of the name that is not attached (a partition detached by
	// hand) is attached again; ATTACH refuses it if it holds rows of other
	// days.
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
// rows older than that; the roll-ups keep their aggregates. It returns the
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
	s.partsMu.Lock()
	var old []int64
	for d := range s.parts {
		if d < cutoff {
			old = append(old, d)
		}
	}
	s.partsMu.Unlock()
	sort.Slice(old, func(i, j int) bool { return old[i] < old[j] })
	n, err := s.dropPartitions(ctx, old)
	var dropped []string
	s.partsMu.Lock()
	for _, d := range old[:n] {
		delete(s.parts, d)
		dropped = append(dropped, partitionName(d))
	}
	s.partsMu.Unlock()
	if err != nil {
		return dropped, err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM quarantine WHERE received_at < $1`, time.Unix(cutoff*86400, 0).UTC()); err != nil {
		return dropped, unavailable("expire quarantine", err)
	}
	return dropped, nil
}

// dropPartitions detaches the partitions of days and drops them, in
// order, and returns how many it dropped. DROP TABLE of a partition would lock
// events as CREATE TABLE … PARTITION OF does (createPartition); DETACH
// PARTITION … CONCURRENTLY lets reads and writes go on while it waits for
// the queries that may still read the partition. It cannot run inside a
// transaction, so the partitions' lock is a session lock here, on one
// connection, released before the connection goes back to the pool. A
// detach that was cut short (a timeout, a crash) is finished by the next
// run.
func (s *Store) dropPartitions(ctx context.Context, days []int64) (dropped int, err error) {
	if len(days) == 0 {
		return 0, nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, unavailable("drop partitions", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockPartitions); err != nil {
		// Cut short (ctx), the server may have granted the lock all the same.
		conn.Conn().Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing is the remedy
		return 0, unavailable("lock partitions", err)
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
		var pending *bool // nil: not attached (any more)
		err := conn.QueryRow(ctx, `SELECT inhdetachpending FROM pg_inherits
			WHERE inhrelid = to_regclass($1) AND inhparent = 'events'::regclass`, name).Scan(&pending)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return dropped, unavailable("look for partition "+name, err)
		}
		var qs []string
		switch {
		case pending == nil:
		case *pending:
			qs = append(qs, `ALTER TABLE events DETACH PARTITION `+name+` FINALIZE`)
		default:
			qs = append(qs, `ALTER TABLE events DETACH PARTITION `+name+` CONCURRENTLY`)
		}
		qs = append(qs, `DROP TABLE IF EXISTS `+name)
		for _, q := range qs {
			if _, err := conn.Exec(ctx, q); err != nil {
				return dropped, unavailable("drop partition "+name, err)
			}
		}
		dropped++
	}
	return dropped, nil
}
