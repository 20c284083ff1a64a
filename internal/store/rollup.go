package store

import (
	"context"
	"time"
)

// RollerUp is a store whose roll-ups (pre-aggregated tables the analyses
// read) are derived from the events after they are committed, so that the
// ingest transaction stays short. Readers of the roll-ups call RollUp first
// to see every committed event.
type RollerUp interface {
	// RollUp adds the events committed since it last ran to the roll-ups.
	// It is idempotent: an event is added once, whatever crashes between.
	RollUp(ctx context.Context) error
}

// RollUpEvery calls r.RollUp every period until ctx ends, so that the
// roll-ups lag the events by about period and a reader's catch-up is
// small. Errors go to onErr; the next period retries.
func RollUpEvery(ctx context.Context, r RollerUp, period time.Duration, onErr func(error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.RollUp(ctx); err != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}
