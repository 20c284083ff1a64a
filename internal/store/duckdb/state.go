package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// IntakePosition implements store.EventStore.
func (s *Store) IntakePosition(ctx context.Context) (uint64, error) {
	return store.ReadIntakePosition(ctx, s.db)
}

// AppState implements store.StateStore.
func (s *Store) AppState(ctx context.Context, app, key string) (string, bool, error) {
	return store.ReadAppState(ctx, s.db, app, key)
}

// SetAppState implements store.StateStore.
func (s *Store) SetAppState(ctx context.Context, app, key, value string, at time.Time) error {
	err := s.inTx(ctx, func(tx *rawTx) error {
		return tx.exec(store.SetAppStateSQL, app, key, value, at.UTC())
	})
	if err != nil {
		return fmt.Errorf("%w: set %s of app %s: %w", store.ErrUnavailable, key, app, err)
	}
	return nil
}

// UseNonce implements store.StateStore. Expired nonces are swept at most
// once a minute, so the table holds about one window of calls.
func (s *Store) UseNonce(ctx context.Context, app, nonce string, now, expires time.Time) (bool, error) {
	fresh := false
	err := s.inTx(ctx, func(tx *rawTx) error {
		if now.Sub(s.nonceSweep) >= time.Minute {
			if err := tx.exec(`DELETE FROM data_api_nonces WHERE expires_at <= $1`, now.UTC()); err != nil {
				return err
			}
			s.nonceSweep = now
		}
		return tx.query(store.UseNonceSQL, func([]driver.Value) error { fresh = true; return nil },
			app, nonce, expires.UTC(), now.UTC())
	})
	if err != nil {
		return false, fmt.Errorf("%w: record nonce of app %s: %w", store.ErrUnavailable, app, err)
	}
	return fresh, nil
}

// HasEvents implements store.EventStore.
func (s *Store) HasEvents(ctx context.Context, app string) (bool, error) {
	return store.HasEvents(ctx, s.db, app)
}

// LoadToken implements store.StateStore.
func (s *Store) LoadToken(ctx context.Context, wxAppID string) (store.Token, bool, error) {
	return store.LoadToken(ctx, s.db, wxAppID)
}

// SaveToken implements store.StateStore.
func (s *Store) SaveToken(ctx context.Context, wxAppID string, t store.Token) error {
	err := s.inTx(ctx, func(tx *rawTx) error {
		return tx.exec(store.SaveTokenSQL, wxAppID, t.Value, t.FetchedAt.UTC(), t.ExpiresAt.UTC(), t.RefreshAt.UTC())
	})
	if err != nil {
		return fmt.Errorf("%w: save the token of %s: %w", store.ErrUnavailable, wxAppID, err)
	}
	return nil
}

// DeleteTokenIf implements store.StateStore.
func (s *Store) DeleteTokenIf(ctx context.Context, wxAppID, value string) (bool, error) {
	deleted := false
	err := s.inTx(ctx, func(tx *rawTx) error {
		return tx.query(store.DeleteTokenSQL, func([]driver.Value) error { deleted = true; return nil }, wxAppID, value)
	})
	if err != nil {
		return false, fmt.Errorf("%w: drop the token of %s: %w", store.ErrUnavailable, wxAppID, err)
	}
	return deleted, nil
}

// Lead implements store.StateStore: one process owns the embedded store,
// so it holds every role.
func (s *Store) Lead(context.Context, string) (bool, error) { return true, nil }

// Resign implements store.StateStore; there is no one to hand roles to.
func (s *Store) Resign() {}

// UnknownTypes implements store.EventStore.
func (s *Store) UnknownTypes(ctx context.Context, app string) (map[string]time.Time, error) {
	return store.UnknownTypes(ctx, s.db, app)
}

// CreateSession implements store.StateStore.
func (s *Store) CreateSession(ctx context.Context, idHash, user string, expires, now time.Time) error {
	err := s.inTx(ctx, func(tx *rawTx) error {
		if err := tx.exec(store.ExpireSessionsSQL, now.UTC()); err != nil {
			return err
		}
		return tx.exec(store.CreateSessionSQL, idHash, user, expires.UTC())
	})
	if err != nil {
		return fmt.Errorf("%w: record a dashboard login: %w", store.ErrUnavailable, err)
	}
	return nil
}

// SessionUser implements store.StateStore.
func (s *Store) SessionUser(ctx context.Context, idHash string, now time.Time) (string, bool, error) {
	return store.SessionUser(ctx, s.db, idHash, now)
}

// EndSession implements store.StateStore.
func (s *Store) EndSession(ctx context.Context, idHash string) error {
	if err := s.inTx(ctx, func(tx *rawTx) error { return tx.exec(store.EndSessionSQL, idHash) }); err != nil {
		return fmt.Errorf("%w: end a dashboard login: %w", store.ErrUnavailable, err)
	}
	return nil
}

// SavePullDay implements store.PullStore.
func (s *Store) SavePullDay(ctx context.Context, d store.PullDay) error {
	if err := s.inTx(ctx, func(tx *rawTx) error { return tx.exec(store.SavePullDaySQL, store.PullDayArgs(d)...) }); err != nil {
		return fmt.Errorf("%w: record pulled day %s of %s: %w", store.ErrUnavailable, d.Day.Format(time.DateOnly), d.App, err)
	}
	return nil
}

// SavePulledDay implements store.PullStore.
func (s *Store) SavePulledDay(ctx context.Context, d store.PulledDay) error {
	stmts, err := store.PulledDayStmts(d)
	if err != nil {
		return err
	}
	if err := s.execAll(ctx, stmts); err != nil {
		return fmt.Errorf("save pulled %s day %s of %s: %w", d.Family, d.Day.Format(time.DateOnly), d.App, err)
	}
	return nil
}

// SavePublished implements store.PullStore.
func (s *Store) SavePublished(ctx context.Context, d store.PublishedDay) error {
	stmts, err := store.PublishedStmts(d)
	if err != nil {
		return err
	}
	if err := s.execAll(ctx, stmts); err != nil {
		return fmt.Errorf("save articles published %s of %s: %w", d.Day.Format(time.DateOnly), d.App, err)
	}
	return nil
}

// ArticleCurves implements store.PullStore.
func (s *Store) ArticleCurves(ctx context.Context, app string, from, to time.Time) ([]store.Curve, error) {
	return store.ArticleCurves(ctx, s.db, app, from, to)
}

// execAll runs stmts in order in one transaction.
func (s *Store) execAll(ctx context.Context, stmts []store.Stmt) error {
	return s.inTx(ctx, func(tx *rawTx) error {
		for _, st := range stmts {
			if err := tx.exec(st.SQL, st.Args...); err != nil {
				return fmt.Errorf("%w: %.60s: %w", store.ErrUnavailable, st.SQL, err)
			}
		}
		return nil
	})
}

// PullDays implements store.PullStore.
func (s *Store) PullDays(ctx context.Context, app string, from, to time.Time) ([]store.PullDay, error) {
	return store.PullDays(ctx, s.db, app, from, to)
}
