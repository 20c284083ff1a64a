package duckdb

import (
	"context"
	"fmt"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// PutArticleMarker implements store.MarkerStore.
func (s *Store) PutArticleMarker(ctx context.Context, m store.ArticleMarker) error {
	err := s.inTx(ctx, func(tx *rawTx) error {
		for _, st := range store.PutMarkerStmts(m) {
			if err := tx.exec(st.SQL, st.Args...); err != nil {
				return fmt.Errorf("%w: %.60s: %w", store.ErrUnavailable, st.SQL, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put article marker %s of %s: %w", m.Marker, m.App, err)
	}
	return nil
}

// ArticleMarkers implements store.MarkerStore.
func (s *Store) ArticleMarkers(ctx context.Context, app string) ([]store.ArticleMarker, error) {
	return store.ArticleMarkers(ctx, s.db, app)
}

// DeleteArticleMarker implements store.MarkerStore.
func (s *Store) DeleteArticleMarker(ctx context.Context, app, marker string) (bool, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM oa_article_markers WHERE app_id = $1 AND marker = $2`,
		app, marker).Scan(&n); err != nil {
		return false, fmt.Errorf("%w: delete article marker %s of %s: %w", store.ErrUnavailable, marker, app, err)
	}
	if n == 0 {
		return false, nil
	}
	if err := s.inTx(ctx, func(tx *rawTx) error { return tx.exec(store.DeleteMarkerSQL, app, marker) }); err != nil {
		return false, fmt.Errorf("%w: delete article marker %s of %s: %w", store.ErrUnavailable, marker, app, err)
	}
	return true, nil
}
