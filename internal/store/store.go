// Package store is the storage contract shuyuan's domain code writes to and
// reads from, the group-commit writer in front of it, and the logic both
// stores share (a flush's plan, the merge rounds of orders, what a process
// knows is stored). Implementations live in store/duckdb (embedded, the
// default) and store/postgres (shared by many nodes); store/storetest
// states the contract as one behavioural suite run on both.
//
// The domain never writes SQL against the tables a store owns: every table
// it writes or reads has a typed method here. Only the analyses read
// through DB(), with their own .sql files.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrUnavailable wraps failures of the store itself (disk, connection), as
// opposed to bad input; callers answer them with a "try again" status.
var ErrUnavailable = errors.New("store unavailable")

// Dialect names the SQL dialect of a store, for the analysis queries that
// differ between stores.
type Dialect string

// The dialects.
const (
	DuckDB   Dialect = "duckdb"
	Postgres Dialect = "postgres"
)

// TimeBucket is the dialect's SQL for the start of the bucket of seconds,
// counted from the Unix epoch, that holds the time expr. The roll-ups cut
// hours with it and the analyses cut buckets of raw events with it, so
// the two agree to the row. PostgreSQL bins with date_bin: its
// extract(epoch) is numeric, and arithmetic on it cost ~0.4-0.6 µs a row
// (bucketing 152 k users' first times: 100-145 ms, against 23 ms).
func (d Dialect) TimeBucket(expr string, seconds int) string {
	if d == Postgres {
		return fmt.Sprintf("date_bin(INTERVAL '%d seconds', %s, TIMESTAMPTZ '1970-01-01 00:00:00+00')", seconds, expr)
	}
	return fmt.Sprintf("to_timestamp(floor(extract(epoch FROM %s) / %d) * %d)", expr, seconds, seconds)
}

// Lower is the dialect's SQL for expr lower-cased as DuckDB's lower does,
// every letter of Unicode. PostgreSQL's text columns compare byte by byte
// (COLLATE "C", its migration 0021), and under "C" its lower folds only
// ASCII: it lower-cases by the database's own locale, and the result
// compares byte by byte again.
func (d Dialect) Lower(expr string) string {
	if d == Postgres {
		return fmt.Sprintf(`lower(%s COLLATE "default") COLLATE "C"`, expr)
	}
	return fmt.Sprintf("lower(%s)", expr)
}

// Store is the whole storage surface. Every write path takes batches: one
// commit per row is far too slow on the embedded store.
type Store interface {
	EventStore
	OrderStore
	OutboxStore
	RelayStore
	StateStore
	PullStore
	MarkerStore

	// Transact runs fn in one write transaction. On the embedded store it
	// shares the serialised write path of WriteEvents and AddOrders, so it
	// never conflicts with them.
	Transact(ctx context.Context, fn func(tx Tx) error) error

	// DB is the handle analyses read through, in Dialect.
	DB() *sql.DB
	Dialect() Dialect

	// Ping tells whether the store can serve.
	Ping(ctx context.Context) error
	// Close flushes and releases the store.
	Close() error
}

// EventStore keeps what the SDK uploads: events, their shared contexts, the
// quarantine, each user's ad touches, and the roll-ups derived from them.
type EventStore interface {
	// WriteEvents stores the batches in one transaction: the events not
	// already stored (see EventBatch for what a re-send is), every context
	// not yet stored, the quarantine rows not already stored within the
	// dedup window, and the ad touches of the batches. The event hook runs
	// in the same transaction. Either every batch is committed or none is.
	WriteEvents(ctx context.Context, batches []*EventBatch) ([]EventResult, error)

	// IntakePosition is the highest EventBatch.IntakeSeq committed, 0
	// when none was.
	IntakePosition(ctx context.Context) (uint64, error)

	// HasEvents tells whether any event of app is stored ("" for any app).
	HasEvents(ctx context.Context, app string) (bool, error)

	// UnknownTypes lists the event types of unknown kind stored for app,
	// each with the time it was first received (the collector caps new
	// ones per day).
	UnknownTypes(ctx context.Context, app string) (map[string]time.Time, error)

	// SetEventHook installs the hook WriteEvents runs before it commits (nil
	// removes it). Set it before the first write; it is not synchronised
	// with writes in flight.
	SetEventHook(h EventHook)

	// RollUp adds the events committed since it last ran to the roll-ups
	// (pre-aggregated tables the analyses read). It is idempotent: an event
	// is added once, whatever crashes or concurrent writers do between,
	// and an event committed late is never skipped. Readers of the roll-ups
	// call it first to see every committed event.
	RollUp(ctx context.Context) error
}

// EventHook runs inside the transaction of WriteEvents, after the events
// and the ad touches they carry are written and before the commit, with
// every batch of the flush (events already stored included: work done
// there must be idempotent). It is the seam for work that must commit
// together with the events, such as the conversions of the SDK's paid
// orders and leads; an error rolls the whole flush back.
type EventHook func(ctx context.Context, tx Tx, batches []*EventBatch) error

// StateStore keeps small shared state: per-app values (the WeChat data
// source id, ...) and the data-api's used nonces.
type StateStore interface {
	// AppState reads the value of key for app; ok is false when unset.
	AppState(ctx context.Context, app, key string) (value string, ok bool, err error)
	// SetAppState sets the value of key for app.
	SetAppState(ctx context.Context, app, key, value string, at time.Time) error
	// UseNonce records nonce for app until expires and reports whether it
	// was fresh: not recorded before, or recorded with an expiry not after
	// now. Concurrent calls with one nonce get fresh=true once.
	UseNonce(ctx context.Context, app, nonce string, now, expires time.Time) (fresh bool, err error)

	// LoadToken reads the WeChat access token kept for a WeChat appid.
	LoadToken(ctx context.Context, wxAppID string) (t Token, ok bool, err error)
	// SaveToken replaces the token kept for a WeChat appid.
	SaveToken(ctx context.Context, wxAppID string, t Token) error
	// DeleteTokenIf drops the token kept for a WeChat appid only while its
	// value is still value.
	DeleteTokenIf(ctx context.Context, wxAppID, value string) (deleted bool, err error)

	// Lead tries to make this process the holder of role (the token
	// refresher of an app, a background task) and reports whether it
	// holds it now. A holder keeps its roles until Resign or until its
	// link to the store dies; then another process takes them over within
	// seconds. Roles are shared by every process on the store: on the
	// embedded store, which one process owns, that process leads them all.
	Lead(ctx context.Context, role string) (bool, error)
	// Resign gives up every role this process holds.
	Resign()

	// CreateSession records a dashboard login: the SHA-256 of its id (hex),
	// the user and when it ends; expired logins are dropped on the way.
	CreateSession(ctx context.Context, idHash, user string, expires, now time.Time) error
	// SessionUser is the user of a login not ended and not expired at now.
	SessionUser(ctx context.Context, idHash string, now time.Time) (user string, ok bool, err error)
	// EndSession ends a login, for every node.
	EndSession(ctx context.Context, idHash string) error
}

// Token is a WeChat access token as kept for every node (wxads.Token).
type Token struct {
	Value     string
	FetchedAt time.Time
	ExpiresAt time.Time
	RefreshAt time.Time
}

// Tx is the part of a write transaction the domain's hooks use: the reads
// and writes that must commit together with the events or the orders.
type Tx interface {
	// Touches lists the ad touches of app whose user has one of openIDs as
	// open_id or one of unionIDs as union_id and whose first_seen is in
	// [from, to]. Touches written earlier in the transaction count.
	Touches(ctx context.Context, app string, openIDs, unionIDs []string, from, to time.Time) ([]Touch, error)
	// AdOfClick returns the ad id a touch of app with clickID carries, ""
	// when none does.
	AdOfClick(ctx context.Context, app, clickID string) (string, error)
	// StoredConversions tells which of ids are in the outbox.
	StoredConversions(ctx context.Context, ids []string) (map[string]bool, error)
	// AddConversions adds the conversions whose id is not in the outbox yet
	// (the others, and repeats inside cs, are left alone) and returns how
	// many pending ones it added.
	AddConversions(ctx context.Context, cs []Conversion) (pending int, err error)
	// UnattributedConversions lists app's unattributed order and lead
	// conversions whose user has one of openIDs as open_id or one of
	// unionIDs as union_id and that occurred in [from, to]: the ones an
	// ad touch that arrived late may now be credited with. Only the
	// columns a conversion is made from are set.
	UnattributedConversions(ctx context.Context, app string, openIDs, unionIDs []string, from, to time.Time) ([]Conversion, error)
	// AttributeConversions credits conversions recorded as unattributed to
	// the touch found since: each row of cs's ids that is still
	// unattributed takes cs's click, ad, touch time, payload, status,
	// deadline and next attempt; any other row is left alone, so a
	// conversion is credited once. It returns how many pending rows it
	// made.
	AttributeConversions(ctx context.Context, cs []Conversion) (pending int, err error)
	// AddRelays adds rows to the relay outbox (relay.go), in the order of
	// rs; they commit or roll back with the data they relay.
	AddRelays(ctx context.Context, rs []Relay) error
	// LockUsers holds, until the transaction ends, a lock per identifier
	// of users (UserLockKeys), so that a conversion recorded unattributed
	// and an ad touch of the same user that commit at once on two nodes
	// cannot both miss each other: the second waits for the first and
	// then sees it. Hooks call it once, before they read touches or
	// conversions; the store may already hold some of the locks. A store
	// with one writer at a time needs no lock.
	LockUsers(ctx context.Context, users []UserKey) error
}

// UserKey names a user of an app by its open id and union id, either
// possibly empty.
type UserKey struct {
	App, OpenID, UnionID string
}

// UserLockKeys are the lock names of users, sorted and without repeats:
// one per identifier, so that two records sharing either one share a
// lock. A store takes them in one order for every transaction (PostgreSQL:
// that of their hashes), so two transactions never wait on each other.
func UserLockKeys(users []UserKey) []string {
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, u := range users {
		if u.OpenID != "" {
			add("user " + u.App + " o " + u.OpenID)
		}
		if u.UnionID != "" {
			add("user " + u.App + " u " + u.UnionID)
		}
	}
	slices.Sort(out)
	return out
}
