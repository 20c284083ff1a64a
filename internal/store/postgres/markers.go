package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// PutArticleMarker implements store.MarkerStore.
func (s *Store) PutArticleMarker(ctx context.Context, m store.ArticleMarker) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, st := range store.PutMarkerStmts(m) {
			b.Queue(st.SQL, st.Args...)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return unavailable("store the marker", err)
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
	tag, err := s.pool.Exec(ctx, store.DeleteMarkerSQL, app, marker)
	if err != nil {
		return false, unavailable(fmt.Sprintf("delete article marker %s of %s", marker, app), err)
	}
	return tag.RowsAffected() > 0, nil
}
