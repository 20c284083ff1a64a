package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/postgres"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
)

func open(t testing.TB, dsn string, opt postgres.Options) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func write(t *testing.T, st store.Store, recv time.Time, evs ...event.Event) store.EventResult {
	t.Helper()
	res, err := st.WriteEvents(context.Background(), []*store.EventBatch{{AppID: "a", ReceivedAt: recv, Events: evs}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

// An event of a day that has no partition yet (an SDK queue held it for
// weeks, or its clock is off) is stored: its flush creates the partition.
func TestEventOnDayWithoutPartition(t *testing.T) {
	st := storetest.OpenPostgres(t)
	old := time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)
	if res := write(t, st, time.Now(), storetest.SearchEvent(t, "T", old.UnixMilli(), "x", "o1")); res.Accepted != 1 {
		t.Fatalf("%+v", res)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM events_20240229`); n != 1 {
		t.Fatalf("partition of 2024-02-29 holds %d events", n)
	}
}

// Making a partition does not wait for the queries running on events (an
// analysis of several seconds), and so neither does the flush that needs
// it, nor the flushes behind that one. A transaction that has read events
// holds its lock until it ends; the flush must finish while it is open.
// A partition detached by hand is attached again when an event of its day
// comes.
func TestNewPartitionWhileEventsAreRead(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.NewPostgresDatabase(t)
	st := open(t, dsn, postgres.Options{})
	reader, tx := readingEvents(t, dsn)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	old := time.Date(2019, 3, 5, 12, 0, 0, 0, time.UTC)
	res, err := st.WriteEvents(wctx, []*store.EventBatch{{AppID: "a", ReceivedAt: time.Now(),
		Events: []event.Event{storetest.SearchEvent(t, "T", old.UnixMilli(), "x", "o1")}}})
	if err != nil {
		t.Fatalf("flush while events are read: %v", err)
	}
	if res[0].Accepted != 1 {
		t.Fatalf("%+v", res[0])
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM events WHERE ts < '2019-03-06'`); n != 1 {
		t.Fatalf("%d events of 2019-03-05, want 1", n)
	}
	if _, err := reader.Exec(ctx, `ALTER TABLE events DETACH PARTITION events_20190305`); err != nil {
		t.Fatal(err)
	}
	other := open(t, dsn, postgres.Options{})
	if res := write(t, other, time.Now(), storetest.SearchEvent(t, "T", old.Add(time.Hour).UnixMilli(), "y", "o1")); res.Accepted != 1 {
		t.Fatalf("after the detach: %+v", res)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM events WHERE ts < '2019-03-06'`); n != 2 {
		t.Fatalf("%d events of 2019-03-05 after the detach, want both", n)
	}
}

// Retention drops whole partitions past the kept days; the roll-ups keep
// their aggregates and new days keep their partitions.
func TestRetentionDropsOldPartitions(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	st := open(t, dsn, postgres.Options{RetentionDays: 30})
	now := time.Now().UTC()
	old, recent := now.AddDate(0, 0, -40), now.AddDate(0, 0, -2)
	write(t, st, now, storetest.SearchEvent(t, "T", old.UnixMilli(), "x", "o1"), storetest.SearchEvent(t, "T", recent.UnixMilli(), "y", "o1"))
	if err := st.RollUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	dropped, err := st.Maintain(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	want := "events_" + old.Format("20060102")
	if len(dropped) != 1 || dropped[0] != want {
		t.Fatalf("dropped %v, want [%s]", dropped, want)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM events`); n != 1 {
		t.Fatalf("%d events left, want the recent one", n)
	}
	if n := storetest.Count(t, st, `SELECT coalesce(sum(events), 0) FROM rollup_event_types`); n != 2 {
		t.Fatalf("roll-ups hold %d events, want both still", n)
	}
	ahead := "events_" + now.AddDate(0, 0, 7).Format("20060102")
	if n := storetest.Count(t, st, `SELECT count(*) FROM pg_class WHERE relname = $1`, ahead); n != 1 {
		t.Fatalf("no partition %s a week ahead", ahead)
	}
	// An event of a dropped day that arrives late is stored again, on a
	// partition made for it (another node may still think it exists).
	other := open(t, dsn, postgres.Options{})
	if res := write(t, other, now, storetest.SearchEvent(t, "T", old.Add(time.Minute).UnixMilli(), "z", "o1")); res.Accepted != 1 {
		t.Fatalf("late event: %+v", res)
	}
}

// Retention does not hold up the flushes: while a transaction that read
// the events is open, an old partition's detach waits for it, and a flush
// of today's events goes through meanwhile. Once it ends, the partition
// is dropped.
func TestRetentionWhileEventsAreRead(t *testing.T) {
	ctx := context.Background()
	dsn, st, now, want := pastRetention(t)
	_, tx := readingEvents(t, dsn)
	maintained := maintaining(st, now)
	waitFor(t, func() bool {
		return storetest.Count(t, st, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND (query LIKE 'ALTER TABLE events DETACH%' OR query LIKE 'DROP TABLE%')
			AND wait_event_type = 'Lock'`) > 0
	})
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := st.WriteEvents(wctx, []*store.EventBatch{{AppID: "a", ReceivedAt: now,
		Events: []event.Event{storetest.SearchEvent(t, "T", now.UnixMilli(), "y", "o1")}}}); err != nil {
		t.Fatalf("flush while the old partition is detached: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-maintained
	if r.err != nil || len(r.dropped) != 1 || r.dropped[0] != want {
		t.Fatalf("dropped %v (%v), want [%s]", r.dropped, r.err, want)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM pg_class WHERE relname = $1`, want); n != 0 {
		t.Fatalf("%s still there", want)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM events`); n != 1 {
		t.Fatalf("%d events left, want today's", n)
	}
}

// A retention run cut short while its detach waits leaves the partition
// pending; the next run finishes it, drops the partition and counts its
// event, which no roll-up had read. A flush of that day in between finishes
// the detach itself.
func TestRetentionFinishesACutDetach(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run(fmt.Sprintf("late event %v", late), func(t *testing.T) { retentionFinishesACutDetach(t, late) })
	}
}

func retentionFinishesACutDetach(t *testing.T, late bool) {
	ctx := context.Background()
	dsn, st, now, name := pastRetention(t)
	_, tx := readingEvents(t, dsn)
	cut := maintaining(st, now)
	// Cancelled by the server, as a statement timeout would.
	var pid int
	waitFor(t, func() bool {
		pid = storetest.Count(t, st, `SELECT coalesce(max(pid), 0) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'ALTER TABLE events DETACH%' AND wait_event = 'virtualxid'`)
		return pid > 0
	})
	if _, err := tx.Exec(ctx, `SELECT pg_cancel_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	if r := <-cut; r.err == nil {
		t.Fatal("the detach did not wait for the reader")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhdetachpending`, name); n != 1 {
		t.Fatalf("%s not pending detach", name)
	}
	if late {
		// No row goes to a partition being detached: the flush finishes
		// the detach and attaches the partition again.
		other := open(t, dsn, postgres.Options{})
		old := now.AddDate(0, 0, -40)
		if res := write(t, other, now, storetest.SearchEvent(t, "T", old.Add(time.Minute).UnixMilli(), "late", "o2")); res.Accepted != 1 {
			t.Fatalf("late event: %+v", res)
		}
	}
	dropped, err := st.Maintain(ctx, now)
	if err != nil || len(dropped) != 1 || dropped[0] != name {
		t.Fatalf("dropped %v (%v), want [%s]", dropped, err, name)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM pg_class WHERE relname = $1`, name); n != 0 {
		t.Fatalf("%s still there", name)
	}
	want := 1
	if late {
		want = 2
	}
	rolledEvents(t, st, want)
}

// rolledEvents checks that the roll-ups, caught up, hold want events.
func rolledEvents(t *testing.T, st *postgres.Store, want int) {
	t.Helper()
	if err := st.RollUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, `SELECT coalesce(sum(events), 0) FROM rollup_event_types`); n != want {
		t.Fatalf("the roll-ups hold %d events, want %d", n, want)
	}
}

// Retention drops no event before the roll-ups count it: one stored for
// the old day after the last roll-up (a late event, or roll-ups behind)
// is counted from the detached partition, once, beside those counted
// before and after.
func TestRetentionCountsEventsNotRolledUp(t *testing.T) {
	_, st, now, name := pastRetention(t)
	rolledEvents(t, st, 1)
	old := now.AddDate(0, 0, -40)
	write(t, st, now, storetest.SearchEvent(t, "T", old.Add(time.Minute).UnixMilli(), "late", "o2"))
	write(t, st, now, storetest.SearchEvent(t, "T", now.UnixMilli(), "today", "o2"))
	dropped, err := st.Maintain(context.Background(), now)
	if err != nil || len(dropped) != 1 || dropped[0] != name {
		t.Fatalf("dropped %v (%v), want [%s]", dropped, err, name)
	}
	rolledEvents(t, st, 3)
	if n := storetest.Count(t, st, `SELECT count(*) FROM rollup_sessions WHERE searches > 0`); n != 3 {
		t.Fatalf("%d sessions with a search, want 3", n)
	}
}

// A retention run cut short at the drop, after it counted the detached
// partition's events (the state is made here by hand: marked, detached,
// counted), does not count them again when the next run finds the
// partition it left.
func TestRetentionCutAtTheDrop(t *testing.T) {
	ctx := context.Background()
	_, st, now, name := pastRetention(t)
	leftByRetention(t, st, name)
	if err := st.RollUpDetached(ctx, name); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, `SELECT coalesce(sum(events), 0) FROM rollup_event_types`); n != 1 {
		t.Fatalf("the roll-ups hold %d events before the drop, want 1", n)
	}
	dropped, err := st.Maintain(ctx, now)
	if err != nil || len(dropped) != 1 || dropped[0] != name {
		t.Fatalf("dropped %v (%v), want [%s]", dropped, err, name)
	}
	rolledEvents(t, st, 1)
}

// A partition retention detached and did not drop (its node died) is
// dropped by the next run, its events counted; one detached by hand is
// left alone.
func TestRetentionDropsWhatItLeft(t *testing.T) {
	ctx := context.Background()
	dsn, st, now, name := pastRetention(t)
	older := now.AddDate(0, 0, -41)
	write(t, st, now, storetest.SearchEvent(t, "T", older.UnixMilli(), "kept", "o1"))
	byHand := "events_" + older.Format("20060102")
	leftByRetention(t, st, name)
	if _, err := st.DB().Exec(`ALTER TABLE events DETACH PARTITION ` + byHand); err != nil {
		t.Fatal(err)
	}
	// Another node, which never knew the partition.
	dropped, err := open(t, dsn, postgres.Options{RetentionDays: 30}).Maintain(ctx, now)
	if err != nil || len(dropped) != 1 || dropped[0] != name {
		t.Fatalf("dropped %v (%v), want [%s]", dropped, err, name)
	}
	for table, want := range map[string]int{name: 0, byHand: 1} {
		if n := storetest.Count(t, st, `SELECT count(*) FROM pg_class WHERE relname = $1`, table); n != want {
			t.Fatalf("%d tables %s, want %d", n, table, want)
		}
	}
	rolledEvents(t, st, 1)
}

// A late event of a day whose partition retention detached and did not
// drop brings the partition back; its events are counted once, however
// often retention then runs.
func TestLateEventBringsBackWhatRetentionLeft(t *testing.T) {
	ctx := context.Background()
	dsn, st, now, name := pastRetention(t)
	leftByRetention(t, st, name)
	// Detached before migration 0021: its text sorts by the database's
	// collation, which ATTACH refuses.
	if _, err := st.DB().Exec(`ALTER TABLE ` + name + ` ALTER COLUMN app_id TYPE text COLLATE "default"`); err != nil {
		t.Fatal(err)
	}
	other := open(t, dsn, postgres.Options{})
	old := now.AddDate(0, 0, -40)
	if res := write(t, other, now, storetest.SearchEvent(t, "T", old.Add(time.Minute).UnixMilli(), "late", "o2")); res.Accepted != 1 {
		t.Fatalf("late event: %+v", res)
	}
	rolledEvents(t, st, 2)
	for range 2 {
		if _, err := st.Maintain(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM pg_class WHERE relname = $1`, name); n != 0 {
		t.Fatalf("%s still there", name)
	}
	rolledEvents(t, st, 2)
}

// A flush holding an event of a day retention is detaching (another node
// that still thinks the partition is there) waits for the drop and then
// stores the event on a partition made anew: it neither fails nor is
// lost, and both events of that day are counted.
func TestLateEventWhileItsDayIsDropped(t *testing.T) {
	ctx := context.Background()
	dsn, st, now, name := pastRetention(t)
	other := open(t, dsn, postgres.Options{})
	_, tx := readingEvents(t, dsn)
	maintained := maintaining(st, now)
	waitFor(t, func() bool {
		return storetest.Count(t, st, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'ALTER TABLE events DETACH%' AND wait_event = 'virtualxid'`) > 0
	})
	written := make(chan error, 1)
	go func() {
		old := now.AddDate(0, 0, -40)
		res, err := other.WriteEvents(ctx, []*store.EventBatch{{AppID: "a", ReceivedAt: now,
			Events: []event.Event{storetest.SearchEvent(t, "T", old.Add(time.Minute).UnixMilli(), "late", "o2")}}})
		if err == nil && res[0].Accepted != 1 {
			err = fmt.Errorf("%+v", res[0])
		}
		written <- err
	}()
	waitFor(t, func() bool {
		return storetest.Count(t, st, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE '%pg_advisory_xact_lock%' AND wait_event = 'advisory'`) > 0
	})
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-maintained; r.err != nil || len(r.dropped) != 1 || r.dropped[0] != name {
		t.Fatalf("dropped %v (%v), want [%s]", r.dropped, r.err, name)
	}
	if err := <-written; err != nil {
		t.Fatalf("flush of the day being dropped: %v", err)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM events`); n != 1 {
		t.Fatalf("%d events, want the late one", n)
	}
	rolledEvents(t, st, 2)
}

// Every text column of the store compares byte by byte, as in the
// embedded store, whatever the database's locale (migration 0021): a new
// column of the default collation would sort by the server's locale.
func TestTextIsBytewise(t *testing.T) {
	st := storetest.OpenPostgres(t)
	rows, err := st.DB().Query(`SELECT c.relname || '.' || a.attname
		FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		  AND a.atttypid = 'text'::regtype AND a.attcollation <> '"C"'::regcollation
		  AND NOT (p.partattrs IS NOT NULL AND a.attnum = ANY (p.partattrs::int2[]))
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cols) > 0 {
		t.Fatalf("text columns of the database's collation, not \"C\": %v", cols)
	}
	// A partition made later follows its parent.
	now := time.Now()
	write(t, st, now, storetest.SearchEvent(t, "T", now.AddDate(0, 0, -90).UnixMilli(), "x", "o1"))
	if n := storetest.Count(t, st, `SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1)
		AND attname = 'app_id' AND attcollation = '"C"'::regcollation`, "events_"+now.AddDate(0, 0, -90).UTC().Format("20060102")); n != 1 {
		t.Fatal("a new partition's app_id is not COLLATE \"C\"")
	}
}

// Nodes starting together on a fresh database apply each migration once.
func TestMigrationsOnceAcrossNodes(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			st, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 2})
			if err != nil {
				errs <- err
				return
			}
			st.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := open(t, dsn, postgres.Options{})
	if n := storetest.Count(t, st, `SELECT count(*) - count(DISTINCT version) FROM schema_migrations`); n != 0 {
		t.Fatalf("%d migrations applied twice", n)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM rollup_state`); n != 1 {
		t.Fatalf("%d roll-up states", n)
	}
}

// Two nodes starting together on a brand-new database: the one that waits
// for the other's migrations opened its connections before any table
// existed. Those connections make their staging tables when next used, so
// every flush on that node succeeds (before, each failed with "relation
// ev_stage does not exist" until the node restarted).
func TestNodeStartedBeforeMigrations(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	const lockMigrate = 0x7368_7579_0001 // the store's migration lock
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockMigrate); err != nil {
		t.Fatal(err)
	}
	stores := make(chan *postgres.Store, 2)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			st, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 2})
			if err != nil {
				errs <- err
				return
			}
			stores <- st
		}()
	}
	// Both nodes have connected and wait for the lock.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var waiting int
		if err := holder.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d nodes wait for the migration lock, want 2", waiting)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lockMigrate); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for n := range 2 {
		select {
		case err := <-errs:
			t.Fatal(err)
		case st := <-stores:
			t.Cleanup(func() { st.Close() })
			for i := range 3 { // more flushes than connections
				ev := storetest.SearchEvent(t, "T", now.UnixMilli()+int64(10*n+i), "x", "o1")
				if res := write(t, st, now, ev); res.Accepted != 1 {
					t.Fatalf("node %d, flush %d: %+v", n, i, res)
				}
			}
		}
	}
}

// A node with an older binary refuses a schema a newer one migrated.
func TestOlderBinaryRefusesNewerSchema(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	st := open(t, dsn, postgres.Options{})
	if _, err := st.DB().Exec(`INSERT INTO schema_migrations VALUES (999, 'future', now())`); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if !errors.Is(err, store.ErrSchemaNewer) || !strings.Contains(err.Error(), "schema version 999") {
		t.Fatalf("open: %v", err)
	}
}

// Nor does it start on roll-ups a newer build brought to a later version
// without a migration: it would empty and rebuild them, losing what the
// newer nodes keep.
func TestOlderBinaryRefusesNewerRollups(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	st := open(t, dsn, postgres.Options{})
	now := time.Now()
	write(t, st, now, storetest.SearchEvent(t, "T", now.UnixMilli(), "x", "o1"))
	if err := st.RollUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(`UPDATE rollup_state SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if !errors.Is(err, store.ErrSchemaNewer) || !strings.Contains(err.Error(), fmt.Sprintf("roll-ups are of version %d", postgres.RollupVersion+1)) {
		t.Fatalf("open: %v", err)
	}
	if n := storetest.Count(t, st, `SELECT coalesce(sum(events), 0) FROM rollup_event_types`); n != 1 {
		t.Fatalf("roll-ups hold %d events after the older build's attempt, want 1", n)
	}
}

// A wrong DSN or an unreachable server fails at start with one line that
// says which.
func TestOpenFailsClearly(t *testing.T) {
	storetest.SkipWithoutPostgres(t)
	_, err := postgres.Open(context.Background(), "postgres://postgres@127.0.0.1:1/shuyuan", postgres.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach PostgreSQL at 127.0.0.1:1/shuyuan: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("unreachable: %q", err)
	}
	_, err = postgres.Open(context.Background(), "postgres://postgres@127.0.0.1:5432/shuyuan?sslmode=bogus", postgres.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "store.dsn: ") {
		t.Fatalf("bad dsn: %v", err)
	}
}

// proxy forwards TCP connections to target until cut.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func startProxy(t *testing.T, addr, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// A server that goes away makes writes fail with a retryable error and
// Ping fail, nothing half-written; once it is back, both work again.
func TestServerGoesAway(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	p := startProxy(t, "127.0.0.1:0", "127.0.0.1:5432")
	addr := p.ln.Addr().String()
	proxied := strings.Replace(dsn, "127.0.0.1:5432", addr, 1)
	if proxied == dsn {
		t.Skip("SHUYUAN_TEST_POSTGRES is not 127.0.0.1:5432; this test proxies that address")
	}
	st := open(t, proxied, postgres.Options{})
	ctx := context.Background()
	write(t, st, time.Now(), storetest.SearchEvent(t, "T", 1795373591817, "x", "o1"))
	p.cut()
	_, err := st.WriteEvents(ctx, []*store.EventBatch{{AppID: "a", ReceivedAt: time.Now(), Events: []event.Event{storetest.SearchEvent(t, "T", 1795373591818, "y", "o1")}}})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write while away: %v, want ErrUnavailable", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := st.Ping(pctx); err == nil {
		t.Fatal("ping while away")
	}
	p = startProxy(t, addr, "127.0.0.1:5432")
	defer p.cut()
	var res store.EventResult
	for range 50 { // the pool drops its dead connections as it meets them
		r, err := st.WriteEvents(ctx, []*store.EventBatch{{AppID: "a", ReceivedAt: time.Now(), Events: []event.Event{storetest.SearchEvent(t, "T", 1795373591818, "y", "o1")}}})
		if err == nil {
			res = r[0]
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res.Accepted != 1 {
		t.Fatalf("after the server came back: %+v", res)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM events`); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

// Two nodes storing the same upload at once (an SDK re-send landing on
// another node) store it once, timed or not.
func TestTwoNodesSameUpload(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	a, b := open(t, dsn, postgres.Options{}), open(t, dsn, postgres.Options{})
	evs := []event.Event{storetest.SearchEvent(t, "T", 1795373591817, "x", "o1"), storetest.UntimedEvent(t, "T", "w", "o1")}
	for round := range 20 {
		var wg sync.WaitGroup
		results := make([]store.EventResult, 2)
		for i, st := range []*postgres.Store{a, b} {
			wg.Go(func() { results[i] = write(t, st, time.Now(), evs...) })
		}
		wg.Wait()
		if got := results[0].Accepted + results[1].Accepted; (round == 0 && got != 2) || (round > 0 && got != 0) {
			t.Fatalf("round %d: accepted %+v", round, results)
		}
	}
	if n := storetest.Count(t, a, `SELECT count(*) FROM events`); n != 2 {
		t.Fatalf("%d events stored, want 2", n)
	}
}

// A flush meets an event that another node's flush holds uncommitted: it
// waits, and is told by the outcome. When the other commits, the event is
// a re-send and the flush's other events are still stored (through the
// staging table); when the other rolls back, the flush stores them all.
// A later flush of a node that never saw the events finds them stored too.
func TestFlushWaitsForAnotherNodesEvent(t *testing.T) {
	for _, otherCommits := range []bool{true, false} {
		t.Run(fmt.Sprintf("other commits %v", otherCommits), func(t *testing.T) {
			dsn := storetest.NewPostgresDatabase(t)
			a, b := open(t, dsn, postgres.Options{}), open(t, dsn, postgres.Options{})
			shared := storetest.SearchEvent(t, "T", 1795373591817, "x", "o1")
			own := storetest.SearchEvent(t, "T", 1795373592817, "y", "o1")
			entered, release := make(chan struct{}), make(chan struct{})
			a.SetEventHook(func(context.Context, store.Tx, []*store.EventBatch) error {
				close(entered)
				<-release
				if !otherCommits {
					return errors.New("the other node gives up")
				}
				return nil
			})
			aErr := make(chan error, 1)
			go func() {
				_, err := a.WriteEvents(context.Background(), []*store.EventBatch{{AppID: "a", ReceivedAt: time.Now(), Events: []event.Event{shared}}})
				aErr <- err
			}()
			<-entered
			bRes, bErr := make(chan store.EventResult, 1), make(chan error, 1)
			go func() {
				res, err := b.WriteEvents(context.Background(), []*store.EventBatch{{AppID: "a", ReceivedAt: time.Now(), Events: []event.Event{own, shared}}})
				if err != nil {
					bErr <- err
					return
				}
				bRes <- res[0]
			}()
			// b's flush waits on a's row before a ends.
			waitFor(t, func() bool {
				return storetest.Count(t, a, `SELECT count(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0
			})
			close(release)
			if err := <-aErr; (err == nil) != otherCommits {
				t.Fatalf("a: %v", err)
			}
			var got store.EventResult
			select {
			case got = <-bRes:
			case err := <-bErr:
				t.Fatalf("b: %v", err)
			}
			want := store.EventResult{Accepted: 2}
			if otherCommits {
				want = store.EventResult{Accepted: 1, Duplicates: 1}
			}
			if got != want {
				t.Fatalf("b: %+v, want %+v", got, want)
			}
			if n := storetest.Count(t, a, `SELECT count(*) FROM events`); n != 2 {
				t.Fatalf("%d events stored, want 2", n)
			}
			c := open(t, dsn, postgres.Options{})
			if got := write(t, c, time.Now(), own, shared); got != (store.EventResult{Duplicates: 2}) {
				t.Fatalf("a third node's re-send: %+v", got)
			}
			if n := storetest.Count(t, a, `SELECT count(*) FROM events`); n != 2 {
				t.Fatalf("%d events stored after the re-send, want 2", n)
			}
		})
	}
}

// pastRetention is a store that keeps 30 days and holds an event of 40
// days ago, the name of that event's partition, and now.
func pastRetention(t *testing.T) (dsn string, st *postgres.Store, now time.Time, partition string) {
	t.Helper()
	dsn = storetest.NewPostgresDatabase(t)
	st = open(t, dsn, postgres.Options{RetentionDays: 30})
	now = time.Now().UTC()
	old := now.AddDate(0, 0, -40)
	write(t, st, now, storetest.SearchEvent(t, "T", old.UnixMilli(), "x", "o1"))
	return dsn, st, now, "events_" + old.Format("20060102")
}

// maintained is what a Maintain run returned.
type maintained struct {
	dropped []string
	err     error
}

// maintaining runs st.Maintain in the background.
func maintaining(st *postgres.Store, now time.Time) <-chan maintained {
	c := make(chan maintained, 1)
	go func() {
		dropped, err := st.Maintain(context.Background(), now)
		c <- maintained{dropped, err}
	}()
	return c
}

// leftByRetention leaves the partition name as a retention run that
// detached it and stopped before the drop: marked and detached.
func leftByRetention(t *testing.T, st *postgres.Store, name string) {
	t.Helper()
	for _, q := range []string{
		`COMMENT ON TABLE ` + name + ` IS '` + postgres.RetentionMark + `'`,
		`ALTER TABLE events DETACH PARTITION ` + name,
	} {
		if _, err := st.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// readingEvents opens a connection of its own with a transaction that has
// read events, so it holds their lock until the test ends it (or ends).
func readingEvents(t *testing.T, dsn string) (*pgx.Conn, pgx.Tx) {
	t.Helper()
	ctx := context.Background()
	reader, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close(ctx) })
	tx, err := reader.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT count(*) FROM events`); err != nil {
		t.Fatal(err)
	}
	return reader, tx
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// One node holds a role; when its session dies (the node was killed, or
// its link broke) another takes the role on its next try, and the old one
// knows it no longer holds it.
func TestLeadershipMovesWhenTheHolderDies(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	a, b := open(t, dsn, postgres.Options{}), open(t, dsn, postgres.Options{})
	ctx := context.Background()
	lead := func(st *postgres.Store) bool {
		t.Helper()
		ok, err := st.Lead(ctx, "token wx1")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !lead(a) || lead(b) || !lead(a) {
		t.Fatal("want a to hold the role and b not")
	}
	if ok, _ := b.Lead(ctx, "task roll-ups"); !ok {
		t.Fatal("b cannot take another role")
	}
	// Kill the session that holds a's role, as a's death would.
	var killed int
	if err := b.DB().QueryRow(`SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted
		  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('shuyuan role token wx1', 0)`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d sessions: %v", killed, err)
	}
	start := time.Now()
	for !lead(b) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("b did not take the role within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if lead(a) {
		t.Fatal("a still believes it holds the role")
	}
	b.Resign()
	if !lead(a) {
		t.Fatal("a cannot take the role back after b resigned")
	}
}

// BenchmarkRoleMove measures how soon another node can take a role (the
// token refresher, an elected task) once the holder's session is gone, as
// when its process is killed: PostgreSQL frees the session's advisory
// lock as the backend exits. A candidate that asks every 10 ms sees it
// free after the reported time; in serve the candidates ask once per
// task period (1 s for the refresher), which bounds the move. Skips
// without SHUYUAN_TEST_POSTGRES.
func BenchmarkRoleMove(b *testing.B) {
	dsn := storetest.NewPostgresDatabase(b)
	ctx := context.Background()
	var total time.Duration
	for i := range b.N {
		b.StopTimer()
		a, c := open(b, dsn, postgres.Options{}), open(b, dsn, postgres.Options{})
		role := fmt.Sprintf("bench role %d", i)
		if ok, err := a.Lead(ctx, role); err != nil || !ok {
			b.Fatalf("a leads: %v %v", ok, err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := c.DB().Exec(`SELECT pg_terminate_backend(l.pid) FROM pg_locks l
			WHERE l.locktype = 'advisory' AND l.granted
			  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('shuyuan role ' || $1, 0)`, role); err != nil {
			b.Fatal(err)
		}
		for {
			ok, err := c.Lead(ctx, role)
			if err != nil {
				b.Fatal(err)
			}
			if ok {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		total += time.Since(start)
		b.StopTimer()
		c.Resign()
		a.Close()
		c.Close()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-move")
}

// TestMigrateAfterOpenWithoutMigrations is `shuyuan migrate` on a new
// database: the store opened without migrating, then migrated, takes
// events.
func TestMigrateAfterOpenWithoutMigrations(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, postgres.Options{NoMigrate: true, MaxConns: 2})
	if err != nil {
		t.Fatalf("open a new database without migrating: %v", err)
	}
	defer st.Close()
	n, err := st.Migrate(ctx)
	if err != nil || n == 0 {
		t.Fatalf("migrate: %d migrations, %v", n, err)
	}
	var parts int
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass`).Scan(&parts); err != nil {
		t.Fatal(err)
	}
	if parts < 8 {
		t.Fatalf("%d event partitions after migrating, want yesterday through a week ahead", parts)
	}
}

// During a rolling upgrade a node of the older build still runs after a
// newer one has brought the roll-ups to a later version. It must leave
// the events to the newer nodes: rolled up by it, they would lack, for
// good, what the later version added.
func TestOlderNodeLeavesNewerRollups(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	ctx := context.Background()
	st := open(t, dsn, postgres.Options{MaxConns: 2})
	now := time.Now()
	write(t, st, now, storetest.SearchEvent(t, "T", now.UnixMilli(), "x", "o1"))
	if _, err := st.DB().ExecContext(ctx, `UPDATE rollup_state SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	if err := st.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, `SELECT rolled_seq + (SELECT count(*) FROM rollup_event_types) FROM rollup_state`); n != 0 {
		t.Fatalf("a node of an older roll-up version rolled up (mark plus rows %d)", n)
	}
	// The newer node (here: the version set back) rolls them up.
	if _, err := st.DB().ExecContext(ctx, `UPDATE rollup_state SET version = version - 1`); err != nil {
		t.Fatal(err)
	}
	if err := st.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, `SELECT coalesce(sum(events), 0) FROM rollup_event_types`); n != 1 {
		t.Fatalf("roll-ups hold %d events after the newer node's turn, want 1", n)
	}
}

// A store whose roll-ups are of version 2 (before rollup_orders), 3
// (before the day counts), 4 (before the SKUs' range counts), 5 (before
// rollup_searches) to 9 (rollup_step_hours without the values a funnel is
// split by) is brought to the current version in place when a node opens
// it: what the later versions added is computed from
// what the roll-ups hold, equal to what rolling up wrote, and nothing is
// rolled up again (the mark stays where it was).
func TestRollupsUpgradedInPlace(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	ctx := context.Background()
	st := open(t, dsn, postgres.Options{MaxConns: 2})
	orderEvent := func(tracking string, at time.Time, id, status, open string) event.Event {
		ev, err := event.Parse([]byte(fmt.Sprintf(`{"type":"custom_order","tracking_id":%q,"log_id":1,"props":{"page":"pages/o","time":%d,`+
			`"order":{"order_id":%q,"order_time":1772330400000,"order_status":%q},"sub_orders":[{"sub_order_id":%q,"order_amt":12,"pay_amt":12}],`+
			`"wx_user":{"open_id":%q},"chan":{"chan_wxapp_scene":1001,"chan_id":%q}}}`,
			tracking, at.UnixMilli(), id, status, id, open, "c-"+tracking)))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	pageView := func(tracking string, at time.Time, page, open string) event.Event {
		ev, err := event.Parse([]byte(fmt.Sprintf(`{"type":"browse_wxapp_page","tracking_id":%q,"log_id":1,"props":{"page":%q,"time":%d,`+
			`"wx_user":{"open_id":%q},"chan":{"chan_wxapp_scene":1001}}}`, tracking, page, at.UnixMilli(), open)))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	skuEvent := func(typ, tracking string, at time.Time, sku, open string) event.Event {
		ev, err := event.Parse([]byte(fmt.Sprintf(`{"type":%q,"tracking_id":%q,"log_id":1,"props":{"page":"pages/g","time":%d,`+
			`"action_type":"append_to_cart","sku_num":2,"sku":{"sku_id":%q,"sku_name":"N-%s"},"spu":{"spu_id":"P"},`+
			`"wx_user":{"open_id":%q},"chan":{"chan_wxapp_scene":1001}}}`, typ, tracking, at.UnixMilli(), sku, sku, open)))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	day := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Hour)
	write(t, st, time.Now(), orderEvent("t1", day, "O1", "give_order", "oA"), orderEvent("t2", day.Add(time.Minute), "O1", "payed", "oB"),
		orderEvent("t3", day.Add(2*time.Minute), "O2", "give_order", "oC"),
		pageView("t1", day, "pages/a", "oA"), pageView("t4", day.Add(3*time.Hour), "pages/a", "oA"),
		pageView("t5", day.Add(28*time.Hour), "pages/b", "oA"),
		skuEvent("expose_sku_component", "t1", day, "S1", "oA"), skuEvent("expose_sku_component", "t5", day.Add(28*time.Hour), "S1", "oA"),
		skuEvent("add_to_cart", "t5", day.Add(28*time.Hour+time.Minute), "S1", "oA"), skuEvent("expose_sku_component", "t2", day, "S1", "oB"),
		storetest.SearchEvent(t, "t6", day.Add(2*time.Hour).UnixMilli(), "Lychee", "oA"),
		skuEvent("trigger_sku_component", "t6", day.Add(2*time.Hour+time.Minute), "S1", "oA"),
		storetest.SearchEvent(t, "t6", day.Add(2*time.Hour+2*time.Minute).UnixMilli(), "Durian", "oA"))
	if err := st.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	const rows = `SELECT concat_ws(' / ',
	(SELECT string_agg(concat_ws('|', order_id, placed_at, paid_at, payed_fen, placer, payer, chan_id), ';' ORDER BY order_id) FROM rollup_orders),
	(SELECT string_agg(concat_ws('|', pop, dim, key, hour, gap), ';' ORDER BY pop, dim, key, hour) FROM rollup_presence),
	(SELECT string_agg(concat_ws('|', pop, dim, hour, gap, n), ';' ORDER BY pop, dim, hour, gap) FROM rollup_gaps WHERE n <> 0),
	(SELECT string_agg(concat_ws('|', hour, page, views, stay_ms), ';' ORDER BY hour, page)
	 FROM (SELECT hour, page, sum(views) AS views, sum(stay_ms) AS stay_ms FROM rollup_hour_sums GROUP BY 1, 2) h),
	(SELECT string_agg(concat_ws('|', hour, sku_id, sku_name, exposures, clicks, detail_views, cart_units), ';' ORDER BY hour, sku_id)
	 FROM (SELECT hour, sku_id, max(sku_name) AS sku_name, sum(exposures) AS exposures, sum(clicks) AS clicks,
	              sum(detail_views) AS detail_views, sum(cart_units) AS cart_units FROM rollup_sku_hours GROUP BY 1, 2) k),
	(SELECT string_agg(concat_ws('|', sid, ts, uid, keyword, first_click), ';' ORDER BY ts) FROM rollup_searches),
	(SELECT string_agg(concat_ws('|', type, hour, uid, first, last, guide_id, room_id, ad_id, shop_id, chan_id), ';'
	                   ORDER BY type, hour, uid, guide_id, room_id, ad_id, shop_id, chan_id)
	 FROM (SELECT type, hour, uid, min(first) AS first, max(last) AS last, guide_id, room_id, ad_id, shop_id, chan_id
	       FROM rollup_step_hours GROUP BY 1, 2, 3, 6, 7, 8, 9, 10) h))`
	var before string
	var mark int64
	if err := st.DB().QueryRowContext(ctx, rows).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(before, "O1|") || !strings.Contains(before, "|oA|oB|c-t1") || !strings.Contains(before, "|pages/b|") ||
		!strings.Contains(before, "6|S1|") || !strings.Contains(before, "7|S1|") || !strings.Contains(before, "|S1|N-S1|1|0|0|2") ||
		!strings.Contains(before, "|lychee|") || !strings.Contains(before, "|durian") ||
		!strings.Contains(before, "8|=c-t1|") || !strings.Contains(before, "14|=c-t1|") || !strings.Contains(before, "9|=1001|") ||
		!strings.Contains(before, "add_to_cart|") || !strings.Contains(before, ";search|") || !strings.Contains(before, "|c-t2;") {
		t.Fatalf("roll-ups before the upgrade: %s", before)
	}
	if err := st.DB().QueryRowContext(ctx, `SELECT rolled_seq FROM rollup_state`).Scan(&mark); err != nil {
		t.Fatal(err)
	}
	// The SKUs' per-user rows are no longer kept (version 8); versions
	// before kept them in rollup_skus, from which the version-5 fill
	// derives the range counts and which version 8 empties: each store set
	// back below 8 gets them as those versions wrote them.
	if n := storetest.Count(t, st, `SELECT count(*) FROM rollup_skus`); n != 0 {
		t.Fatalf("rollup_skus holds %d rows: the roll-up should not write it", n)
	}
	oldSkus := `TRUNCATE rollup_skus; INSERT INTO rollup_skus ` + postgres.SkuRowsSQL("events")
	for _, c := range []struct {
		version int
		reset   string // empties what the version had not
	}{
		{2, "TRUNCATE rollup_orders, rollup_presence, rollup_gaps, rollup_hour_sums, rollup_sku_hours, rollup_searches, rollup_step_hours"},
		{3, "TRUNCATE rollup_presence, rollup_gaps, rollup_hour_sums, rollup_sku_hours, rollup_searches, rollup_step_hours"},
		// Version 3 with the day counts still there (set back by hand):
		// the fill must not add to them.
		{3, ""},
		{4, "DELETE FROM rollup_presence WHERE pop >= 6; DELETE FROM rollup_gaps WHERE pop >= 6; TRUNCATE rollup_sku_hours, rollup_searches, rollup_step_hours"},
		{4, ""},
		{5, "TRUNCATE rollup_searches, rollup_step_hours; DELETE FROM rollup_presence WHERE pop >= 8; DELETE FROM rollup_gaps WHERE pop >= 8"},
		{5, ""},
		{6, "TRUNCATE rollup_step_hours; DELETE FROM rollup_presence WHERE pop >= 8; DELETE FROM rollup_gaps WHERE pop >= 8"},
		{6, ""},
		{7, ""},
		{8, "TRUNCATE rollup_step_hours"},
		// Version 8 with rollup_step_hours still there: the fill starts
		// it again.
		{8, ""},
		// Version 9 kept no values a funnel is split by.
		{9, "UPDATE rollup_step_hours SET guide_id = NULL, room_id = NULL, ad_id = NULL, shop_id = NULL, chan_id = NULL"},
	} {
		q := fmt.Sprintf(`UPDATE rollup_state SET version = %d`, c.version)
		if c.version < 8 {
			q = oldSkus + "; " + q
		}
		if c.reset != "" {
			q = c.reset + "; " + q
		}
		if _, err := st.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
		st.Close()
		st = open(t, dsn, postgres.Options{MaxConns: 2})
		var after string
		var markAfter int64
		if err := st.DB().QueryRowContext(ctx, `SELECT rolled_seq FROM rollup_state`).Scan(&markAfter); err != nil {
			t.Fatal(err)
		}
		if err := st.DB().QueryRowContext(ctx, rows).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if after != before || markAfter != mark || mark == 0 {
			t.Fatalf("after the upgrade from %d: roll-ups\n%s\nwant\n%s\nmark %d (want %d, not a rebuild)", c.version, after, before, markAfter, mark)
		}
		if n := storetest.Count(t, st, fmt.Sprintf(`SELECT count(*) FROM rollup_state WHERE version = %d`, postgres.RollupVersion)); n != 1 {
			t.Fatalf("from %d: roll-up version not set: %d rows of version %d", c.version, n, postgres.RollupVersion)
		}
		if n := storetest.Count(t, st, `SELECT count(*) FROM rollup_skus`); n != 0 {
			t.Fatalf("from %d: rollup_skus still holds %d rows after the upgrade", c.version, n)
		}
		// The fill wrote one row per type, user and hour, none beside
		// rows already there.
		if n := storetest.Count(t, st, `SELECT count(*) - count(DISTINCT (app_id, type, hour, uid, guide_id, room_id, ad_id, shop_id, chan_id)) FROM rollup_step_hours`); n != 0 {
			t.Fatalf("from %d: rollup_step_hours holds %d rows twice after the upgrade", c.version, n)
		}
	}
	// Any other version is rolled up again from the events, into emptied
	// tables: the same rows, none twice.
	if _, err := st.DB().ExecContext(ctx, `UPDATE rollup_state SET version = 1`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = open(t, dsn, postgres.Options{MaxConns: 2})
	if err := st.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	var rebuilt string
	if err := st.DB().QueryRowContext(ctx, rows).Scan(&rebuilt); err != nil {
		t.Fatal(err)
	}
	if rebuilt != before {
		t.Fatalf("after a rebuild: roll-ups\n%s\nwant\n%s", rebuilt, before)
	}
}

// TestStepEventPartitions wants a partition of rollup_step_events for each
// of event.StepTypes (migration 0018), so that a funnel step reads its own
// type's rows only, and a search's row in its partition.
func TestStepEventPartitions(t *testing.T) {
	st := storetest.OpenPostgres(t)
	const partitions = `SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'rollup_step_events'::regclass`
	for _, typ := range event.StepTypes {
		if n := storetest.Count(t, st, partitions+` AND pg_get_expr(c.relpartbound, c.oid) = $1`, fmt.Sprintf("FOR VALUES IN ('%s')", typ)); n != 1 {
			t.Errorf("%d partitions for %s, want 1", n, typ)
		}
	}
	if n := storetest.Count(t, st, partitions+` AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'`); n != 1 {
		t.Errorf("%d default partitions, want 1", n)
	}
	if n := storetest.Count(t, st, partitions); n != len(event.StepTypes)+1 {
		t.Errorf("%d partitions, want one per step type and a default", n)
	}

	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	write(t, st, at, storetest.SearchEvent(t, "T", at.UnixMilli(), "x", "o1"))
	if err := st.RollUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM rollup_step_events_search`); n != 1 {
		t.Fatalf("rollup_step_events_search holds %d rows", n)
	}
}
