package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MarkerStore keeps the article markers of the article join (issue 12): the
// value a merchant puts in the mini-program link inside an official-account
// article, and the article (msgid) it stands for.
type MarkerStore interface {
	// PutArticleMarker stores m (replacing the app's marker of that name)
	// and, unless m.MsgID is set by hand, matches it against the pulled
	// articles (MatchMarkersSQL) in the same transaction, so the stored
	// marker is matched as far as the pulled articles allow.
	PutArticleMarker(ctx context.Context, m ArticleMarker) error
	// ArticleMarkers lists app's markers by marker.
	ArticleMarkers(ctx context.Context, app string) ([]ArticleMarker, error)
	// DeleteArticleMarker removes app's marker and tells whether there
	// was one.
	DeleteArticleMarker(ctx context.Context, app, marker string) (bool, error)
}

// How a marker's article was found.
const (
	MatchedByHand  = "hand"  // the merchant set msgid
	MatchedByLink  = "link"  // a pulled article has the marker's link
	MatchedByTitle = "title" // a pulled article has the marker's title
)

// ArticleMarker is one marker of an app and the article it stands for.
type ArticleMarker struct {
	App    string `json:"app"`
	Marker string `json:"marker"`
	// MsgID is the article (<msg_data_id>_<index>), "" while unmatched.
	MsgID string `json:"msgid"`
	// MatchedBy says how MsgID was found (MatchedBy*), "" while unmatched.
	MatchedBy string `json:"matched_by"`
	// Title and Link are what the merchant knows of the article, "" when
	// not given; LinkMsgID is <mid>_<idx> read from Link.
	Title     string    `json:"title"`
	Link      string    `json:"link"`
	LinkMsgID string    `json:"link_msgid"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MatchMarkersSQL gives every marker of app $1 not set by hand the pulled
// article it matches, at time $2: an article whose content_url is the
// marker's link or whose msgid is the <mid>_<idx> of that link (matched by
// link), else an article whose title, trimmed, is the marker's title
// (matched by title); among several, the earliest published, then the
// smallest msgid, so the same articles always give the same answer. Markers
// that match nothing, or match what they already have, are left alone.
const MatchMarkersSQL = `UPDATE oa_article_markers SET msgid = x.msgid, matched_by = x.rule, updated_at = $2
	FROM (
		SELECT m.marker, a.msgid,
		       CASE WHEN a.content_url = m.link OR a.msgid = m.link_msgid THEN 'link' ELSE 'title' END AS rule,
		       row_number() OVER (PARTITION BY m.marker ORDER BY
		           CASE WHEN a.content_url = m.link OR a.msgid = m.link_msgid THEN 0 ELSE 1 END,
		           a.publish_date, a.msgid) AS rn
		FROM oa_article_markers m
		JOIN oa_articles a ON a.app_id = m.app_id
		 AND (a.content_url = m.link OR a.msgid = m.link_msgid OR trim(a.title) = m.title)
		WHERE m.app_id = $1 AND m.matched_by IS DISTINCT FROM 'hand'
	) x
	WHERE oa_article_markers.app_id = $1 AND oa_article_markers.marker = x.marker AND x.rn = 1
	  AND (oa_article_markers.msgid IS DISTINCT FROM x.msgid OR oa_article_markers.matched_by IS DISTINCT FROM x.rule)`

// PutMarkerStmts are the statements that store m at time at, to run in
// order in one transaction: replace the marker, then match the app's
// markers (MatchMarkersSQL).
func PutMarkerStmts(m ArticleMarker) []Stmt {
	at := m.UpdatedAt.UTC()
	matchedBy := ""
	if m.MsgID != "" {
		matchedBy = MatchedByHand
	}
	return []Stmt{
		{SQL: `DELETE FROM oa_article_markers WHERE app_id = $1 AND marker = $2`, Args: []any{m.App, m.Marker}},
		{SQL: `INSERT INTO oa_article_markers (app_id, marker, msgid, matched_by, title, link, link_msgid, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			Args: []any{m.App, m.Marker, nullable(m.MsgID), nullable(matchedBy), nullable(m.Title), nullable(m.Link), nullable(m.LinkMsgID), at}},
		{SQL: MatchMarkersSQL, Args: []any{m.App, at}},
	}
}

// DeleteMarkerSQL removes marker $2 of app $1.
const DeleteMarkerSQL = `DELETE FROM oa_article_markers WHERE app_id = $1 AND marker = $2`

// ArticleMarkers implements MarkerStore.ArticleMarkers over db.
func ArticleMarkers(ctx context.Context, db *sql.DB, app string) ([]ArticleMarker, error) {
	rows, err := db.QueryContext(ctx, `SELECT marker, coalesce(msgid, ''), coalesce(matched_by, ''), coalesce(title, ''),
		coalesce(link, ''), coalesce(link_msgid, ''), updated_at
		FROM oa_article_markers WHERE app_id = $1 ORDER BY marker`, app)
	if err != nil {
		return nil, fmt.Errorf("%w: article markers of %s: %w", ErrUnavailable, app, err)
	}
	defer rows.Close()
	out := []ArticleMarker{}
	for rows.Next() {
		m := ArticleMarker{App: app}
		if err := rows.Scan(&m.Marker, &m.MsgID, &m.MatchedBy, &m.Title, &m.Link, &m.LinkMsgID, &m.UpdatedAt); err != nil {
			return nil, fmt.Errorf("article markers of %s: %w", app, err)
		}
		m.UpdatedAt = m.UpdatedAt.UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: article markers of %s: %w", ErrUnavailable, app, err)
	}
	return out, nil
}

// nullable is s, or NULL for "".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
