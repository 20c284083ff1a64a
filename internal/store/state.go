package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SetAppStateSQL upserts app_state: $1 app, $2 key, $3 value, $4 time.
const SetAppStateSQL = `INSERT INTO app_state (app_id, key, value, updated_at) VALUES ($1, $2, $3, $4)
	ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`

// UseNonceSQL records a nonce ($1 app, $2 nonce, $3 expiry) unless it is
// recorded and not expired at $4; it returns a row when the nonce was
// fresh. The primary key makes concurrent uses of one nonce one winner.
const UseNonceSQL = `INSERT INTO data_api_nonces (app_id, nonce, expires_at) VALUES ($1, $2, $3)
	ON CONFLICT (app_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
	WHERE data_api_nonces.expires_at <= $4
	RETURNING 1`

// ReadAppState implements StateStore.AppState over db.
func ReadAppState(ctx context.Context, db *sql.DB, app, key string) (string, bool, error) {
	var v string
	err := db.QueryRowContext(ctx, `SELECT value FROM app_state WHERE app_id = $1 AND key = $2`, app, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("%w: read %s of app %s: %w", ErrUnavailable, key, app, err)
	}
	return v, true, nil
}

// ReadIntakePosition implements EventStore.IntakePosition over db.
func ReadIntakePosition(ctx context.Context, db *sql.DB) (uint64, error) {
	return ParseIntakePosition(ReadAppState(ctx, db, "", IntakeKey))
}

// HasEvents implements EventStore.HasEvents over db.
func HasEvents(ctx context.Context, db *sql.DB, app string) (bool, error) {
	var found bool
	err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE $1 = '' OR app_id = $1)`, app).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("%w: look for events: %w", ErrUnavailable, err)
	}
	return found, nil
}

// The token statements, the same in both dialects.
const (
	loadTokenSQL = `SELECT value, fetched_at, expires_at, refresh_at FROM wx_tokens WHERE wx_appid = $1`
	// SaveTokenSQL upserts a token: $1 appid, $2 value, $3 fetched, $4
	// expires, $5 refresh.
	SaveTokenSQL = `INSERT INTO wx_tokens (wx_appid, value, fetched_at, expires_at, refresh_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (wx_appid) DO UPDATE SET value = excluded.value, fetched_at = excluded.fetched_at,
			expires_at = excluded.expires_at, refresh_at = excluded.refresh_at`
	// DeleteTokenSQL drops a token if its value is still $2.
	DeleteTokenSQL = `DELETE FROM wx_tokens WHERE wx_appid = $1 AND value = $2 RETURNING 1`
)

// LoadToken implements StateStore.LoadToken over db.
func LoadToken(ctx context.Context, db *sql.DB, wxAppID string) (Token, bool, error) {
	var t Token
	err := db.QueryRowContext(ctx, loadTokenSQL, wxAppID).Scan(&t.Value, &t.FetchedAt, &t.ExpiresAt, &t.RefreshAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, false, nil
	}
	if err != nil {
		return Token{}, false, fmt.Errorf("%w: read the token of %s: %w", ErrUnavailable, wxAppID, err)
	}
	t.FetchedAt, t.ExpiresAt, t.RefreshAt = t.FetchedAt.UTC(), t.ExpiresAt.UTC(), t.RefreshAt.UTC()
	return t, true, nil
}

// UnknownTypes implements EventStore.UnknownTypes over db.
func UnknownTypes(ctx context.Context, db *sql.DB, app string) (map[string]time.Time, error) {
	rows, err := db.QueryContext(ctx, `SELECT type, min(received_at) FROM events
		WHERE app_id = $1 AND kind = 'unknown' GROUP BY type`, app)
	if err != nil {
		return nil, fmt.Errorf("%w: stored event types of %s: %w", ErrUnavailable, app, err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var typ string
		var first time.Time
		if err := rows.Scan(&typ, &first); err != nil {
			return nil, fmt.Errorf("stored event types of %s: %w", app, err)
		}
		out[typ] = first.UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: stored event types of %s: %w", ErrUnavailable, app, err)
	}
	return out, nil
}

// The statements of dashboard logins, the same in both dialects.
const (
	// CreateSessionSQL records a login: $1 hash, $2 user, $3 expiry.
	CreateSessionSQL = `INSERT INTO dashboard_sessions (id_hash, user_name, expires_at) VALUES ($1, $2, $3)`
	// ExpireSessionsSQL drops the logins expired at $1.
	ExpireSessionsSQL = `DELETE FROM dashboard_sessions WHERE expires_at <= $1`
	// EndSessionSQL ends the login $1.
	EndSessionSQL = `DELETE FROM dashboard_sessions WHERE id_hash = $1`
)

// SessionUser implements StateStore.SessionUser over db.
func SessionUser(ctx context.Context, db *sql.DB, idHash string, now time.Time) (string, bool, error) {
	var user string
	err := db.QueryRowContext(ctx, `SELECT user_name FROM dashboard_sessions WHERE id_hash = $1 AND expires_at > $2`,
		idHash, now.UTC()).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("%w: read a dashboard login: %w", ErrUnavailable, err)
	}
	return user, true, nil
}
