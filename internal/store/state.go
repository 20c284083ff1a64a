package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
