package store

import (
	"context"
	"time"
)

// The states of a conversion in the outbox.
const (
	ConversionUnattributed = "unattributed" // no ad touch inside the window: recorded, never sent
	ConversionPending      = "pending"      // to send; NextAttemptAt says when
	ConversionDelivered    = "delivered"    // WeChat answered errcode 0
	ConversionDead         = "dead"         // refused for good, or out of retry budget
)

// Conversion is one row of the conversion outbox (ad_conversions). Its id
// is deterministic (conversion.ID), so a fact reported many times is one
// row. Empty strings and zero times are stored as NULL.
type Conversion struct {
	ID         string
	AppID      string
	Kind       string // order | lead | api
	RefID      string // order id, lead id, or the caller's action id
	ActionType string
	Source     string // backend | sdk | event | api
	OpenID     string
	UnionID    string
	OccurredAt time.Time
	ValueFen   int64
	ClickID    string // "": no touch inside the window
	AdID       string
	TouchAt    time.Time
	SetID      int64  // 0: the app's data source at send time
	Payload    string // the action as sent, fixed at creation; "" when unattributed
	Status     string

	Attempts int64
	// Resends counts attempts made after one whose answer may have been
	// lost (a failure of class "retry"): sends that may have reached
	// WeChat twice, absorbed there by outer_action_id.
	Resends       int64
	CreatedAt     time.Time
	Deadline      time.Time // retried until then; a replay moves it
	NextAttemptAt time.Time
	LastAttemptAt time.Time
	DeliveredAt   time.Time
	LastError     string
	LastClass     string
}

// ClaimedConversion is an outbox row leased for one delivery attempt.
type ClaimedConversion struct {
	ID        string
	SetID     int64 // 0: the app's data source
	Payload   string
	Attempts  int64
	Deadline  time.Time
	CreatedAt time.Time
	// LastClass is the class of the previous attempt's failure ("" if
	// none): after a "retry" one the answer may have been lost, so this
	// attempt may be a re-send.
	LastClass string
}

// Settlement is the outcome of one delivery attempt for some rows.
type Settlement struct {
	IDs    []string
	Status string    // ConversionDelivered, ConversionPending (retry) or ConversionDead
	Next   time.Time // retry: when
	Err    string
	Class  string
}

// ConversionCount is the number of an app's conversions in one state.
type ConversionCount struct {
	App           string
	Status        string
	N             int64
	OldestCreated time.Time
}

// OutboxStore is the conversion outbox outside of the transactions that
// add to it (Tx.AddConversions): claims with a lease, fenced settlement,
// replay and the reads of the WeChat routes.
type OutboxStore interface {
	// ClaimConversions leases to holder, until now+lease, up to limit
	// pending rows of app due at now (next_attempt_at <= now) that no
	// holder has a running lease on, oldest due first. Rows whose lease
	// ran out (a node died mid-delivery) are due again. Concurrent claims,
	// from any node, never return the same row twice while a lease runs.
	ClaimConversions(ctx context.Context, app, holder string, now time.Time, lease time.Duration, limit int) ([]ClaimedConversion, error)
	// SettleConversions records outcomes of holder's deliveries. Fencing:
	// only rows still pending and last claimed by holder change, so a node
	// whose lease ran out and whose rows another took cannot overwrite the
	// other's result. It returns how many rows it settled.
	SettleConversions(ctx context.Context, holder string, now time.Time, ss []Settlement) (int, error)
	// ReplayConversions makes app's dead conversions (all, or those of ids)
	// pending again, due at now, retried until deadline, with no attempt
	// counted. It returns how many it revived.
	ReplayConversions(ctx context.Context, app string, ids []string, now, deadline time.Time) (int, error)

	// ConversionCounts counts every app's conversions by state, ordered by
	// app.
	ConversionCounts(ctx context.Context) ([]ConversionCount, error)
	// NextConversionDue returns when app's earliest pending row is due (its
	// lease's end, if later); ok is false when it has none.
	NextConversionDue(ctx context.Context, app string) (time.Time, bool, error)
	// AppsWithPendingConversions lists, ordered, the apps that have pending
	// conversions.
	AppsWithPendingConversions(ctx context.Context) ([]string, error)
	// ListConversions lists app's conversions in status ("" for all),
	// newest first, at most limit.
	ListConversions(ctx context.Context, app, status string, limit int) ([]Conversion, error)
	// ConversionsOccurred lists app's conversions that are or were to be
	// sent (not unattributed) that occurred in [from, to).
	ConversionsOccurred(ctx context.Context, app string, from, to time.Time) ([]Conversion, error)
}
