package store

import (
	"context"
	"time"
)

// RollUpEvery calls st.RollUp every period until ctx ends, so that the
// roll-ups lag the events by about period and a reader's catch-up is
// small. Errors go to onErr; the next period retries.
func RollUpEvery(ctx context.Context, st EventStore, period time.Duration, onErr func(error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := st.RollUp(ctx); err != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}
