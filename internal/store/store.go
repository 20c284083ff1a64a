// Package store is the storage interface shuyuan's domain code writes to and
// reads from, and the group-commit writer in front of it. Implementations
// live in store/duckdb (embedded, the default) and store/postgres.
package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
)

// ErrUnavailable wraps failures of the store itself (disk, connection), as
// opposed to bad input; callers answer them with a "try again" status.
var ErrUnavailable = errors.New("store unavailable")

// EventBatch is what one collector request hands to the store: the accepted
// events and the quarantined ones of a single SDK upload, for one app.
type EventBatch struct {
	AppID       string
	ReceivedAt  time.Time
	Events      []event.Event
	Quarantined []event.Quarantined
}

// EventResult is what became of one EventBatch once committed.
type EventResult struct {
	Accepted    int // new events stored
	Duplicates  int // events already stored (SDK re-sends)
	Quarantined int
}

// Dialect names the SQL dialect of a store, for the analysis queries that
// differ between stores.
type Dialect string

// The dialects.
const (
	DuckDB   Dialect = "duckdb"
	Postgres Dialect = "postgres"
)

// Store is the whole storage surface. Every write path takes batches: one
// commit per row is far too slow on the embedded store.
type Store interface {
	// WriteEvents stores the batches in one transaction. Events already
	// stored (same event.Event.Key and time) are skipped and counted as
	// duplicates. Either every batch is committed or none is.
	WriteEvents(ctx context.Context, batches []*EventBatch) ([]EventResult, error)

	OrderStore

	// DB is the handle analyses read through, in Dialect.
	DB() *sql.DB
	Dialect() Dialect

	// Ping tells whether the store can serve.
	Ping(ctx context.Context) error
	// Close flushes and releases the store.
	Close() error
}
