// Package postgres is the shared store: one PostgreSQL 15+ database that
// many stateless shuyuan nodes use at once. It is the only package that
// imports pgx.
//
// Events are range-partitioned by day of their time (plain DDL, created
// ahead and on demand); a flush is one transaction: COPY into events (a
// flush that meets a stored event goes through a staging table and one
// INSERT that skips re-sends by the events' unique key), the contexts,
// quarantine and touches, the event hook, commit. Roll-ups are
// derived from committed flushes behind a barrier that never lets the mark
// pass a flush still in progress (rollups.go).
package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// SchemaDigest identifies the schema this build makes: its migrations and
// its roll-up definition. Tests key a migrated template database by it.
func SchemaDigest() string {
	h := sha256.New()
	fmt.Fprintf(h, "rollups %d\n", rollupVersion)
	entries, _ := fs.ReadDir(migrationFS, "migrations") // embedded: cannot fail
	for _, e := range entries {
		b, _ := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Options tune the shared store.
type Options struct {
	// MaxConns is the size of the connection pool (default 10).
	MaxConns int32
	// StatementTimeout bounds every statement (default 60 s).
	StatementTimeout time.Duration
	// NoMigrate skips applying migrations on open.
	NoMigrate bool
	// DedupWindow is how far back, by time received, an event without a
	// client time and a quarantine row are compared to recognise a re-send
	// (default 6 h, as the embedded store). Timed events are compared by
	// their unique key, whenever they came.
	DedupWindow time.Duration
	// PartitionsAhead is how many days of event partitions exist ahead of
	// today (default 7); days outside are created when an event needs them.
	PartitionsAhead int
	// RetentionDays, if positive, is how many days of raw events are kept:
	// Maintain drops whole partitions older than that.
	RetentionDays int
	// WorkMem is each connection's work_mem (default 64MB): the memory one
	// sort or hash of an analysis may use before it spills to disk.
	WorkMem string
}

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool *pgxpool.Pool
	db   *sql.DB
	dsn  string
	opt  Options

	eventHook store.EventHook
	known     store.Known

	// parts are the days (UTC, as Unix days) whose event partition is
	// known to exist.
	partsMu sync.Mutex
	parts   map[int64]bool

	sweepMu    sync.Mutex
	nonceSweep time.Time

	// lead holds this process's roles (lead.go).
	lead leader
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string), applies pending migrations unless told not to, and makes sure
// the event partitions around today exist. A wrong DSN or an unreachable
// server fails here, with one line that says which.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	if opt.MaxConns <= 0 {
		opt.MaxConns = 10
	}
	if opt.StatementTimeout <= 0 {
		opt.StatementTimeout = 60 * time.Second
	}
	if opt.DedupWindow <= 0 {
		opt.DedupWindow = 6 * time.Hour
	}
	if opt.PartitionsAhead <= 0 {
		opt.PartitionsAhead = 7
	}
	if opt.WorkMem == "" {
		opt.WorkMem = "64MB"
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store.dsn: not a PostgreSQL connection string: %w", err)
	}
	cfg.MaxConns = opt.MaxConns
	cfg.ConnConfig.RuntimeParams["application_name"] = "shuyuan"
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(opt.StatementTimeout.Milliseconds(), 10)
	// Analyses cut days with AT TIME ZONE; the session's own zone must not
	// change what a timestamptz prints as.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// The analyses hash and sort hundreds of thousands of roll-up rows: with
	// the server's default 4 MB they spill to disk and run 30 times slower
	// (BENCHMARKS.md); JIT compiling costs more than it saves on queries of
	// a second.
	cfg.ConnConfig.RuntimeParams["work_mem"] = opt.WorkMem
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	cfg.PrepareConn = prepareConn
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store.dsn: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", where(cfg.ConnConfig), unwrapConnect(err))
	}
	s := &Store{pool: pool, db: stdlib.OpenDBFromPool(pool), dsn: dsn, opt: opt, parts: map[int64]bool{}}
	s.lead.cfg = cfg.ConnConfig.Copy()
	if !opt.NoMigrate {
		if _, err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	if opt.NoMigrate {
		// shuyuan migrate opens the store to migrate it: on a new database
		// there are no events yet, and Migrate prepares the partitions once
		// it has made the table. Asked first, so that the server's log
		// does not show an error for every new database.
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT to_regclass('events') IS NOT NULL`).Scan(&exists); err != nil {
			s.Close()
			return nil, unavailable("look for the events table", err)
		}
		if !exists {
			return s, nil
		}
	}
	if err := s.preparePartitions(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// preparePartitions reads which event partitions exist and creates those
// of yesterday through the days ahead.
func (s *Store) preparePartitions(ctx context.Context) error {
	if err := s.loadPartitions(ctx); err != nil {
		return err
	}
	now := time.Now()
	return s.ensurePartitions(ctx, now.AddDate(0, 0, -1), now.AddDate(0, 0, s.opt.PartitionsAhead))
}

func where(c *pgx.ConnConfig) string {
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) + "/" + c.Database
}

// unwrapConnect keeps the server's or the network's own words, on one
// line: pgconn joins the error of every address and TLS mode it tried.
func unwrapConnect(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		err = ce.Unwrap()
	}
	return firstLine{err}
}

type firstLine struct{ err error }

func (f firstLine) Error() string {
	msg, _, _ := strings.Cut(f.err.Error(), "\n")
	return msg
}

func (f firstLine) Unwrap() error { return f.err }

// prepareConn creates the session's staging tables, once per connection:
// a flush copies into them and they empty themselves at every commit. It
// runs before every acquire, and does nothing once a connection is ready.
func prepareConn(ctx context.Context, c *pgx.Conn) (bool, error) {
	data := c.PgConn().CustomData()
	if data[stagedKey] == true {
		return true, nil
	}
	// The events table may not exist yet: another node, or this one, is
	// migrating a brand-new database. The connection stays usable (the
	// migrations need it) and prepares itself at a later acquire; a
	// connection prepared only once, when it opened, would stay without
	// staging for ever and fail every flush it served.
	var ready bool
	if err := c.QueryRow(ctx, `SELECT to_regclass('events') IS NOT NULL AND to_regclass('orders') IS NOT NULL`).Scan(&ready); err != nil {
		return false, err
	}
	if !ready {
		return true, nil
	}
	if _, err := c.Exec(ctx, `
		CREATE TEMP TABLE IF NOT EXISTS ev_stage (LIKE events) ON COMMIT DELETE ROWS;
		CREATE TEMP TABLE IF NOT EXISTS ord_stage (LIKE orders) ON COMMIT DELETE ROWS`); err != nil {
		return false, err
	}
	data[stagedKey] = true
	return true, nil
}

// stagedKey marks, in a connection's custom data, that its staging tables
// exist.
const stagedKey = "shuyuan.staged"

// Migrate applies pending migrations, under a lock so that nodes starting
// together apply each once, then rebuilds the roll-ups if their
// definition changed. It returns how many migrations ran.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := store.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return 0, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: migrate: %w", store.ErrUnavailable, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockMigrate); err != nil {
		return 0, fmt.Errorf("%w: migrate: take the lock: %w", store.ErrUnavailable, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockMigrate) //nolint:errcheck // the session ends with the connection anyway
	n, err := store.Migrate(ctx, conn, ms)
	if err != nil {
		return n, err
	}
	if n > 0 {
		// Staging tables made before a migration copy the old shape of
		// their tables.
		s.pool.Reset()
	}
	if err := s.ensureRollups(ctx, conn); err != nil {
		return n, err
	}
	if n > 0 {
		return n, s.preparePartitions(ctx)
	}
	return n, nil
}

// The advisory locks of the store, in one namespace (single bigint keys).
const (
	lockMigrate    int64 = 0x7368_7579_0001 // migrations and roll-up rebuilds
	lockPartitions int64 = 0x7368_7579_0002 // creating and dropping partitions
	lockRollUp     int64 = 0x7368_7579_0003 // one roll-up at a time
	lockFlushes    int64 = 0x7368_7579_0004 // shared by flushes, taken alone by the roll-up barrier
)

// lockUntimed is the class of the two-key advisory locks on the content key
// of events without a client time.
const lockUntimed int32 = 0x7379_0005

// DB is the read handle for analyses.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect is PostgreSQL's.
func (s *Store) Dialect() store.Dialect { return store.Postgres }

// DSN is the connection string the store was opened with.
func (s *Store) DSN() string { return s.dsn }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return nil
}

// Close gives up this process's roles and releases the connections.
func (s *Store) Close() error {
	s.Resign()
	err := s.db.Close()
	s.pool.Close()
	return err
}

// SetEventHook installs the hook WriteEvents runs before it commits.
func (s *Store) SetEventHook(h store.EventHook) { s.eventHook = h }

// inTx runs fn in one transaction; any failure of the database itself is
// wrapped in store.ErrUnavailable.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return beginTx(ctx, s.pool, fn)
}

// beginTx is inTx on db: the pool, or one of its connections.
func beginTx(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, fn func(tx pgx.Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%w: begin: %w", store.ErrUnavailable, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%w: commit: %w", store.ErrUnavailable, err)
	}
	return nil
}

// Transact runs fn in one transaction; see store.Store.
func (s *Store) Transact(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return fn(hookTx{tx}) })
}

// unavailable wraps a database failure of the step what.
func unavailable(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", store.ErrUnavailable, what, err)
}
