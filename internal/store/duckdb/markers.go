package duckdb

import (
	"context"
	"database/sql/driver"
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

// DeleteArticleMarker implements store.MarkerStore. The look and the
// delete run in one write transaction, so two deletes of one marker
// cannot both report it found.
func (s *Store) DeleteArticleMarker(ctx context.Context, app, marker string) (bool, error) {
	found := false
	err := s.inTx(ctx, func(tx *rawTx) error {
		if err := tx.query(`SELECT 1 FROM oa_article_markers WHERE app_id = $1 AND marker = $2`,
			func([]driver.Value) error { found = true; return nil }, app, marker); err != nil {
			return err
		}
		if !found {
			return nil
		}
		return tx.exec(store.DeleteMarkerSQL, app, marker)
	})
	if err != nil {
		return false, fmt.Errorf("%w: delete article marker %s of %s: %w", store.ErrUnavailable, marker, app, err)
	}
	return found, nil
}
