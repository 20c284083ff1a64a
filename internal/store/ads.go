package store

import "context"

// EventHook runs inside the transaction of WriteEvents, after the events
// and the ad touches they carry are written and before the commit, with
// every batch of the flush (events already stored included: work done
// there must be idempotent). It is the seam for work that must commit
// together with the events, such as the conversions of the SDK's paid
// orders and leads; an error rolls the whole flush back.
type EventHook func(ctx context.Context, tx Tx, batches []*EventBatch) error

// EventHooker is a store that runs an EventHook in every WriteEvents.
type EventHooker interface {
	// SetEventHook installs h (nil removes it). Set it before the first
	// write; it is not synchronised with writes in flight.
	SetEventHook(h EventHook)
}

// Transactor is a store that runs work in one write transaction, on the
// same serialised write path as WriteEvents and AddOrders, so it never
// conflicts with them. The conversion outbox claims and settles its rows
// through it.
type Transactor interface {
	Transact(ctx context.Context, fn func(tx Tx) error) error
}
