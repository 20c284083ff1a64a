package conversion

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// insert writes conversions not yet in the outbox (by id) and returns how
// many pending rows it added. Unattributed conversions are recorded too,
// for the ad analysis, but never sent.
func insert(ctx context.Context, tx store.Tx, convs []Conversion, now time.Time, budget time.Duration) (int, error) {
	rows := make([]store.Conversion, 0, len(convs))
	for _, c := range convs {
		r, err := c.row(now, budget)
		if err != nil {
			return 0, err
		}
		rows = append(rows, r)
	}
	n, err := tx.AddConversions(ctx, rows)
	if err != nil {
		return n, fmt.Errorf("insert %d conversions: %w", len(rows), err)
	}
	return n, nil
}

// row is the outbox row of c, created now.
func (c Conversion) row(now time.Time, budget time.Duration) (store.Conversion, error) {
	r := store.Conversion{
		ID: c.ID, AppID: c.AppID, Kind: c.Kind, RefID: c.RefID, ActionType: c.ActionType, Source: c.Source,
		OpenID: c.OpenID, UnionID: c.UnionID, OccurredAt: c.OccurredAt.UTC(), ValueFen: c.ValueFen,
		SetID: c.SetID, Status: StateUnattributed, CreatedAt: now,
	}
	if c.Action != nil {
		b, err := json.Marshal(c.Action)
		if err != nil {
			return r, fmt.Errorf("encode action of %s: %w", c.ID, err)
		}
		r.Status, r.Payload = StatePending, string(b)
		r.Deadline, r.NextAttemptAt = now.Add(budget), now
	}
	if c.Touch.ClickID != "" {
		r.ClickID, r.AdID, r.TouchAt = c.Touch.ClickID, c.Touch.AdID, c.Touch.At
	}
	return r, nil
}

// Replay sends dead letters again: the dead conversions of app (all of
// them, or those of ids) become pending, due now, with a fresh retry
// budget. It returns how many it revived.
func (s *Service) Replay(ctx context.Context, app string, ids []string) (int, error) {
	a, ok := s.apps.ByID(app)
	if !ok {
		return 0, fmt.Errorf("%w: no app %q", ErrUnknownApp, app)
	}
	now := s.now().UTC()
	n, err := s.st.ReplayConversions(ctx, app, ids, now, now.Add(rulesOf(a).budget))
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.kick(app)
	}
	return n, nil
}

// Counts are an app's conversions by state.
type Counts struct {
	App          string `json:"app"`
	Unattributed int64  `json:"unattributed"`
	Pending      int64  `json:"pending"`
	Delivered    int64  `json:"delivered"`
	Dead         int64  `json:"dead"`
	// OldestPendingSeconds is the age of the oldest pending conversion.
	OldestPendingSeconds float64 `json:"oldest_pending_seconds"`
}

// Counts returns the conversions by state of every app that has some.
func (s *Service) Counts(ctx context.Context) ([]Counts, error) {
	rows, err := s.st.ConversionCounts(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []Counts
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].App != r.App {
			out = append(out, Counts{App: r.App})
		}
		c := &out[len(out)-1]
		switch r.Status {
		case StateUnattributed:
			c.Unattributed = r.N
		case StatePending:
			c.Pending = r.N
			c.OldestPendingSeconds = max(0, now.Sub(r.OldestCreated).Seconds())
		case StateDelivered:
			c.Delivered = r.N
		case StateDead:
			c.Dead = r.N
		}
	}
	return out, nil
}

// Letter is one conversion as listed by Conversions.
type Letter struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	RefID       string    `json:"ref_id"`
	ActionType  string    `json:"action_type"`
	Source      string    `json:"source"`
	Status      string    `json:"status"`
	ClickID     string    `json:"click_id,omitempty"`
	AdID        string    `json:"ad_id,omitempty"`
	OccurredAt  time.Time `json:"occurred_at"`
	ValueFen    int64     `json:"value_fen"`
	Attempts    int64     `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	LastClass   string    `json:"last_class,omitempty"`
	NextAttempt time.Time `json:"next_attempt_at,omitzero"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	Payload     string    `json:"payload,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	SetID       int64     `json:"user_action_set_id,omitempty"`
	LastAttempt time.Time `json:"last_attempt_at,omitzero"`
	OpenID      string    `json:"open_id,omitempty"`
	UnionID     string    `json:"union_id,omitempty"`
	TouchAt     time.Time `json:"touch_at,omitzero"`
}

// Conversions lists an app's conversions in a state ("" for all), newest
// first, at most limit.
func (s *Service) Conversions(ctx context.Context, app, state string, limit int) ([]Letter, error) {
	rows, err := s.st.ListConversions(ctx, app, state, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Letter, 0, len(rows))
	for _, r := range rows {
		out = append(out, Letter{
			ID: r.ID, Kind: r.Kind, RefID: r.RefID, ActionType: r.ActionType, Source: r.Source, Status: r.Status,
			ClickID: r.ClickID, AdID: r.AdID, OccurredAt: r.OccurredAt, ValueFen: r.ValueFen, Attempts: r.Attempts,
			LastError: r.LastError, LastClass: r.LastClass, NextAttempt: r.NextAttemptAt, DeliveredAt: r.DeliveredAt,
			Payload: r.Payload, CreatedAt: r.CreatedAt, SetID: r.SetID, LastAttempt: r.LastAttemptAt,
			OpenID: r.OpenID, UnionID: r.UnionID, TouchAt: r.TouchAt,
		})
	}
	return out, nil
}
