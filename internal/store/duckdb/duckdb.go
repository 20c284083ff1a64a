// Package duckdb is the embedded store: one DuckDB file owned by one
// process. It is the only package that imports the DuckDB driver.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tune the embedded database.
type Options struct {
	// MemoryLimit caps DuckDB's memory (default "300MB"); by default DuckDB
	// would take 80 % of the machine. 300 MB keeps the server under 500 MiB
	// at 128 ingest clients, and the analyses at 10 M events are no slower
	// than with 1 GB (BENCHMARKS.md).
	MemoryLimit string
	// Threads caps DuckDB's worker threads (default: DuckDB's own, the cores).
	Threads int
	// NoMigrate skips applying migrations on open.
	NoMigrate bool
	// DedupWindow is how far back, by time received, an event is compared
	// with stored ones to recognise an SDK re-send (default 6 h).
	DedupWindow time.Duration
	// CheckpointThreshold is the WAL size at which DuckDB checkpoints
	// (default "256MB"). DuckDB checkpoints inside the commit that crosses
	// it, so a small threshold puts seconds of compression work on
	// whichever SDK request is unlucky.
	CheckpointThreshold string
}

// ErrLocked is returned by Open for a file another process holds: one
// process owns an embedded store.
var ErrLocked = errors.New("the embedded store is locked")

var lockPID = regexp.MustCompile(`Could not set lock on file .*\(PID ([0-9]+)\)`)

// lockHolder finds the process DuckDB names as holding the file's lock.
func lockHolder(err error) (string, bool) {
	m := lockPID.FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Store is the DuckDB implementation of store.Store.
type Store struct {
	db   *sql.DB
	path string

	// wmu serialises writers on the write connection. The group-commit
	// writer already has one goroutine; other write paths share the lock.
	wmu   sync.Mutex
	wconn *sql.Conn

	dedupWindow time.Duration

	// eventHook runs inside every WriteEvents transaction (ads.go).
	eventHook store.EventHook

	// seq is the number of the last flush committed (events.seq), loaded
	// from the events on first use (seqLoaded); rolled is the last one
	// RollUp found in the roll-ups. Both only grow.
	seq       atomic.Int64
	seqLoaded atomic.Bool
	rolled    atomic.Int64

	// known remembers contexts and ad touches already stored, so that
	// flushes skip work that would change nothing.
	known store.Known

	// leases are the claims on relay rows (relay.go).
	leases relayLeases

	// relaySeq is the number of the last relay row added (relay.go), 0
	// until the first is; used under the write lock.
	relaySeq int64

	// keys is the order-key filter (orderkeys.go), loaded on the first
	// add_order; calls numbers add_order calls (store.Rounds). Both are
	// used under the write lock.
	keys  *keyFilter
	calls int64

	// nonceSweep is when expired nonces were last deleted (state.go).
	nonceSweep time.Time

	// trace, if set (by tests), is told how long every statement of a
	// write transaction took.
	trace func(query string, took time.Duration)
}

var _ store.Store = (*Store)(nil)

// nextCall numbers an add_order call; it runs under the write lock.
func (s *Store) nextCall() int64 {
	s.calls++
	return s.calls
}

// Open opens (creating if needed) the database file at path, a directory
// or a file name: a directory gets shuyuan.duckdb inside it.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	file := path
	if fi, err := os.Stat(path); (err == nil && fi.IsDir()) || filepath.Ext(path) == "" {
		if err := os.MkdirAll(path, 0o755); err != nil {
			return nil, fmt.Errorf("create data dir %s: %w", path, err)
		}
		file = filepath.Join(path, "shuyuan.duckdb")
	}
	if opt.MemoryLimit == "" {
		opt.MemoryLimit = "300MB"
	}
	q := url.Values{}
	q.Set("memory_limit", opt.MemoryLimit)
	if opt.Threads > 0 {
		q.Set("threads", fmt.Sprint(opt.Threads))
	}
	if opt.CheckpointThreshold == "" {
		opt.CheckpointThreshold = "256MB"
	}
	q.Set("checkpoint_threshold", opt.CheckpointThreshold)
	if opt.DedupWindow <= 0 {
		opt.DedupWindow = 6 * time.Hour
	}
	conn, err := duckdb.NewConnector(file+"?"+q.Encode(), nil)
	if err != nil {
		if pid, ok := lockHolder(err); ok {
			return nil, fmt.Errorf("%w: %s is in use by process %s (a running shuyuan serve?)",
				ErrLocked, file, pid)
		}
		return nil, fmt.Errorf("open duckdb %s: %w", file, err)
	}
	db := sql.OpenDB(conn)
	// Call ids start from the clock, so those of this process are above
	// those of earlier runs stored in orders.
	s := &Store{db: db, path: file, dedupWindow: opt.DedupWindow, calls: time.Now().UnixNano()}
	if !opt.NoMigrate {
		if _, err := s.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	s.wconn, err = db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open write connection: %w", err)
	}
	return s, nil
}

// Migrate applies pending migrations and returns how many ran.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := store.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return 0, err
	}
	n, err := store.Migrate(ctx, s.db, ms)
	if err != nil {
		return n, err
	}
	return n, ensureRollups(ctx, s.db)
}

// DB is the read handle for analyses.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect is DuckDB's.
func (s *Store) Dialect() store.Dialect { return store.DuckDB }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return nil
}

// Close checkpoints and closes the database.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var errs []error
	if s.wconn != nil {
		if _, err := s.wconn.ExecContext(context.Background(), "CHECKPOINT"); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		}
		errs = append(errs, s.wconn.Close())
		s.wconn = nil
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// inTx runs fn inside one transaction on the write connection. fn gets the
// raw driver connection: appenders need it, and database/sql must not be
// re-entered while it is held.
func (s *Store) inTx(ctx context.Context, fn func(tx *rawTx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wconn == nil {
		return fmt.Errorf("%w: closed", store.ErrUnavailable)
	}
	return s.wconn.Raw(func(raw any) (err error) {
		dc, ok := raw.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", raw)
		}
		tx := &rawTx{ctx: ctx, dc: dc, trace: s.trace, relaySeq: &s.relaySeq}
		if err := tx.exec("BEGIN TRANSACTION"); err != nil {
			return fmt.Errorf("%w: begin: %w", store.ErrUnavailable, err)
		}
		defer func() {
			if err != nil {
				if rbErr := tx.exec("ROLLBACK"); rbErr != nil {
					err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
				}
			}
		}()
		if err := fn(tx); err != nil {
			return err
		}
		if err := tx.exec("COMMIT"); err != nil {
			return fmt.Errorf("%w: commit: %w", store.ErrUnavailable, err)
		}
		if tx.afterCommit != nil {
			tx.afterCommit()
		}
		return nil
	})
}

// rawTx runs statements on a driver connection inside a transaction.
type rawTx struct {
	ctx   context.Context
	dc    driver.Conn
	trace func(query string, took time.Duration)
	// afterCommit, if set by fn, runs once the transaction is committed,
	// still under the write lock.
	afterCommit func()
	// relaySeq is the store's last relay row number (Store.relaySeq).
	relaySeq *int64
}

func named(args []any) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

func (t *rawTx) exec(query string, args ...any) error {
	if t.trace != nil {
		defer t.traced(query, time.Now())
	}
	_, err := t.dc.(driver.ExecerContext).ExecContext(t.ctx, query, named(args))
	return err
}

func (t *rawTx) traced(query string, start time.Time) { t.trace(query, time.Since(start)) }

// query runs a query and calls row for every result row.
func (t *rawTx) query(query string, row func([]driver.Value) error, args ...any) error {
	if t.trace != nil {
		defer t.traced(query, time.Now())
	}
	rows, err := t.dc.(driver.QueryerContext).QueryContext(t.ctx, query, named(args))
	if err != nil {
		return err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := row(dest); err != nil {
			return err
		}
	}
}

// appender opens an appender on table inside the transaction.
func (t *rawTx) appender(table string) (*duckdb.Appender, error) {
	return duckdb.NewAppenderFromConn(t.dc, "", table)
}

// lazyAppender opens its appender on the first row, so that a table most
// transactions add nothing to costs them nothing.
type lazyAppender struct {
	tx    *rawTx
	table string
	a     *duckdb.Appender
}

func (l *lazyAppender) AppendRow(args ...driver.Value) error {
	if l.a == nil {
		a, err := l.tx.appender(l.table)
		if err != nil {
			return fmt.Errorf("%w: %s appender: %w", store.ErrUnavailable, l.table, err)
		}
		l.a = a
	}
	return l.a.AppendRow(args...)
}

func (l *lazyAppender) Close() error {
	if l.a == nil {
		return nil
	}
	return l.a.Close()
}
