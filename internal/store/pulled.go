package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The sources of a wxapp_visit_pages row: pushed by the merchant's backend
// through add_wxapp_visit_page, or pulled from getVisitPage by shuyuan.
// Both are kept, one source per row, so a day can show both.
const (
	SourcePushed = "pushed"
	SourcePulled = "pulled"
)

// PulledDay is everything one family of WeChat's analysis endpoints
// answered for one day of one app. Exactly one of Mini and Account is set,
// by Family.
type PulledDay struct {
	App     string
	Family  string    // "mini_program" (Mini) or "official_account" (Account)
	Day     time.Time // the date, as 00:00 UTC
	At      time.Time // when it was fetched
	Mini    *MiniDay
	Account *AccountDay
}

// MiniDay is one day of the mini-program's endpoints.
type MiniDay struct {
	Pages        []VisitPage        // getVisitPage (the top 200 pages)
	Trend        VisitTrend         // getDailyVisitTrend
	Summary      DailySummary       // getDailySummary
	Distribution []DistributionItem // getVisitDistribution
}

// VisitTrend is one day of getDailyVisitTrend.
type VisitTrend struct {
	Sessions        int64   `json:"session_cnt"`
	VisitPV         int64   `json:"visit_pv"`
	VisitUV         int64   `json:"visit_uv"`
	VisitUVNew      int64   `json:"visit_uv_new"`
	StayTimeUV      float64 `json:"stay_time_uv"` // seconds per user; optional in the docs
	StayTimeSession float64 `json:"stay_time_session"`
	VisitDepth      float64 `json:"visit_depth"`
}

// DailySummary is one day of getDailySummary.
type DailySummary struct {
	VisitTotal int64 `json:"visit_total"` // cumulative users
	SharePV    int64 `json:"share_pv"`
	ShareUV    int64 `json:"share_uv"`
}

// DistributionItem is one key of one index of getVisitDistribution (the
// sessions of source 18, the visitors of source 18, ...).
type DistributionItem struct {
	Index string
	Key   int64
	Value int64
}

// AccountDay is one day of the official account's endpoints.
type AccountDay struct {
	UserSources []UserSource // getusersummary: follows per channel
	Followers   int64        // getusercumulate
	Articles    []ArticleDay // the day's readers and sharers per article
	// Biz is getbizsummary's totals of the day, or before the new
	// article endpoints' data starts (2025-11-01) those of getuserread.
	Biz *BizSummary
	// Published are the articles published that day, with their
	// cumulative figures as far as WeChat had them.
	Published []Article
}

// UserSource is one channel's follows of a day (getusersummary).
type UserSource struct {
	Source int64 `json:"user_source"`
	New    int64 `json:"new_user"`
	Cancel int64 `json:"cancel_user"`
}

// ArticleDay is one article's figures of one day.
type ArticleDay struct {
	MsgID     string
	ReadUser  int64
	ShareUser int64
}

// BizSummary is the account's totals of one day (getbizsummary).
type BizSummary struct {
	ReadUser            int64 `json:"read_user"`
	ShareUser           int64 `json:"share_user"`
	ZaikanUser          int64 `json:"zaikan_user"`
	LikeUser            int64 `json:"like_user"`
	CommentCount        int64 `json:"comment_count"`
	CollectionUser      int64 `json:"collection_user"`
	RedirectOriPageUser int64 `json:"redirect_ori_page_user"`
	SendPageCount       int64 `json:"send_page_count"`
}

// Article is one published article: its msgid (<msg_data_id>_<index>),
// title and link, and its cumulative figures per statistics day.
type Article struct {
	MsgID       string
	Title       string
	ContentURL  string
	PublishType int64
	Totals      []ArticleTotal
}

// ArticleTotal is an article's figures from its publish date through
// StatDate.
type ArticleTotal struct {
	StatDate          time.Time // as 00:00 UTC
	ReadUser          int64
	ShareUser         int64
	ZaikanUser        int64
	LikeUser          int64
	CommentCount      int64
	CollectionUser    int64
	ReadSubscribeUser int64 // follows after reading
}

// Stmt is one statement with its arguments ($1, $2, ... in both dialects).
type Stmt struct {
	SQL  string
	Args []any
}

// PulledDayStmts are the statements that store d, to run in order in one
// transaction: they delete what is stored of d's family and day and insert
// d, so a re-pull replaces the day, and mark the day complete in
// wx_pull_days.
func PulledDayStmts(d PulledDay) ([]Stmt, error) {
	day, at := dateOf(d.Day), d.At.UTC()
	var out []Stmt
	del := func(table, where string) {
		out = append(out, Stmt{SQL: "DELETE FROM " + table + " WHERE app_id = $1 AND " + where, Args: []any{d.App, day}})
	}
	ins := func(table string, cols []string, rows [][]any) {
		out = append(out, insertRows(table, cols, rows)...)
	}
	switch {
	case d.Family == "mini_program" && d.Mini != nil:
		m := d.Mini
		del("wxapp_visit_pages", "ref_date = $2 AND source = 'pulled'")
		del("wx_visit_trends", "ref_date = $2")
		del("wx_daily_summaries", "ref_date = $2")
		del("wx_visit_distributions", "ref_date = $2")
		// getVisitPage keys rows by page_path; should it ever repeat a
		// path, the last row wins, as with add_wxapp_visit_page.
		last := map[string]int{}
		for i, p := range m.Pages {
			last[p.PagePath] = i
		}
		var pages [][]any
		for i, p := range m.Pages {
			if last[p.PagePath] == i {
				pages = append(pages, []any{d.App, day, p.PagePath, p.Page, p.VisitPV, p.VisitUV, p.StayTimePV,
					p.EntryPV, p.ExitPV, p.SharePV, p.ShareUV, at, SourcePulled})
			}
		}
		ins("wxapp_visit_pages", []string{"app_id", "ref_date", "page_path", "page", "page_visit_pv", "page_visit_uv",
			"page_staytime_pv", "entrypage_pv", "exitpage_pv", "page_share_pv", "page_share_uv", "updated_at", "source"}, pages)
		t := m.Trend
		ins("wx_visit_trends", []string{"app_id", "ref_date", "session_cnt", "visit_pv", "visit_uv", "visit_uv_new",
			"stay_time_uv", "stay_time_session", "visit_depth", "updated_at"},
			[][]any{{d.App, day, t.Sessions, t.VisitPV, t.VisitUV, t.VisitUVNew, t.StayTimeUV, t.StayTimeSession, t.VisitDepth, at}})
		s := m.Summary
		ins("wx_daily_summaries", []string{"app_id", "ref_date", "visit_total", "share_pv", "share_uv", "updated_at"},
			[][]any{{d.App, day, s.VisitTotal, s.SharePV, s.ShareUV, at}})
		type key struct {
			index string
			key   int64
		}
		seen := map[key]int{}
		for i, it := range m.Distribution {
			seen[key{it.Index, it.Key}] = i
		}
		var dist [][]any
		for i, it := range m.Distribution {
			if seen[key{it.Index, it.Key}] == i {
				dist = append(dist, []any{d.App, day, it.Index, it.Key, it.Value, at})
			}
		}
		ins("wx_visit_distributions", []string{"app_id", "ref_date", "dist_index", "dist_key", "value", "updated_at"}, dist)
	case d.Family == "official_account" && d.Account != nil:
		a := d.Account
		del("oa_user_summaries", "ref_date = $2")
		del("oa_user_cumulates", "ref_date = $2")
		del("oa_article_days", "ref_date = $2")
		del("oa_biz_summaries", "ref_date = $2")
		users := map[int64]UserSource{}
		var order []int64
		for _, u := range a.UserSources {
			if _, ok := users[u.Source]; !ok {
				order = append(order, u.Source)
			}
			users[u.Source] = u
		}
		var rows [][]any
		for _, src := range order {
			u := users[src]
			rows = append(rows, []any{d.App, day, u.Source, u.New, u.Cancel, at})
		}
		ins("oa_user_summaries", []string{"app_id", "ref_date", "user_source", "new_user", "cancel_user", "updated_at"}, rows)
		ins("oa_user_cumulates", []string{"app_id", "ref_date", "cumulate_user", "updated_at"}, [][]any{{d.App, day, a.Followers, at}})
		// getarticleread and getarticleshare list only the articles whose
		// figures changed: an article in one and not the other has 0 in
		// the other.
		arts := map[string]ArticleDay{}
		var ids []string
		for _, x := range a.Articles {
			if _, ok := arts[x.MsgID]; !ok {
				ids = append(ids, x.MsgID)
			}
			arts[x.MsgID] = x
		}
		rows = nil
		for _, id := range ids {
			x := arts[id]
			rows = append(rows, []any{d.App, day, id, x.ReadUser, x.ShareUser, at})
		}
		ins("oa_article_days", []string{"app_id", "ref_date", "msgid", "read_user", "share_user", "updated_at"}, rows)
		if b := a.Biz; b != nil {
			ins("oa_biz_summaries", []string{"app_id", "ref_date", "read_user", "share_user", "zaikan_user", "like_user",
				"comment_count", "collection_user", "redirect_ori_page_user", "send_page_count", "updated_at"},
				[][]any{{d.App, day, b.ReadUser, b.ShareUser, b.ZaikanUser, b.LikeUser, b.CommentCount, b.CollectionUser,
					b.RedirectOriPageUser, b.SendPageCount, at}})
		}
		pub, err := PublishedStmts(PublishedDay{App: d.App, Day: day, At: at, Articles: a.Published})
		if err != nil {
			return nil, err
		}
		out = append(out, pub...)
	default:
		return nil, fmt.Errorf("pulled day %s of %s: family %q without its data", day.Format(time.DateOnly), d.App, d.Family)
	}
	out = append(out, Stmt{SQL: SavePullDaySQL, Args: PullDayArgs(PullDay{
		App: d.App, Family: d.Family, Day: day, Status: PullComplete, UpdatedAt: at})})
	return out, nil
}

// PublishedDay is the articles published on one day of one app with their
// cumulative curves as WeChat has them at At: what the pull of the day
// stored, or a later refresh of the curves (getarticletotaldetail tracks
// an article for 30 days, so the curve a day's pull gets ends the day
// before the pull).
type PublishedDay struct {
	App      string
	Day      time.Time // the publish date, as 00:00 UTC
	At       time.Time
	Articles []Article
}

// PublishedStmts are the statements that replace the articles published
// on d.Day and their curves with d's, then match the app's article markers
// against them (MatchMarkersSQL), to run in order in one transaction.
func PublishedStmts(d PublishedDay) ([]Stmt, error) {
	day, at := dateOf(d.Day), d.At.UTC()
	out := []Stmt{
		{SQL: "DELETE FROM oa_article_totals WHERE app_id = $1 AND publish_date = $2", Args: []any{d.App, day}},
		{SQL: "DELETE FROM oa_articles WHERE app_id = $1 AND publish_date = $2", Args: []any{d.App, day}},
	}
	var articles, totals [][]any
	seenArt := map[string]bool{}
	for _, p := range d.Articles {
		if seenArt[p.MsgID] {
			return nil, fmt.Errorf("articles published %s of %s: article %s listed twice", day.Format(time.DateOnly), d.App, p.MsgID)
		}
		seenArt[p.MsgID] = true
		articles = append(articles, []any{d.App, p.MsgID, day, p.Title, p.ContentURL, p.PublishType, at})
		seenStat := map[time.Time]bool{}
		for _, t := range p.Totals {
			sd := dateOf(t.StatDate)
			if seenStat[sd] {
				continue
			}
			seenStat[sd] = true
			totals = append(totals, []any{d.App, p.MsgID, sd, day, t.ReadUser, t.ShareUser, t.ZaikanUser, t.LikeUser,
				t.CommentCount, t.CollectionUser, t.ReadSubscribeUser, at})
		}
	}
	out = append(out, insertRows("oa_articles", []string{"app_id", "msgid", "publish_date", "title", "content_url", "publish_type", "updated_at"}, articles)...)
	out = append(out, insertRows("oa_article_totals", []string{"app_id", "msgid", "stat_date", "publish_date", "read_user", "share_user",
		"zaikan_user", "like_user", "comment_count", "collection_user", "read_subscribe_user", "updated_at"}, totals)...)
	// The day's articles may be those the app's article markers stand
	// for: match them in the transaction that stores the articles.
	out = append(out, Stmt{SQL: MatchMarkersSQL, Args: []any{d.App, at}})
	return out, nil
}

// CurvesSQL lists, for app $1 and the publish dates in [$2, $3] with
// articles stored, the last statistics day that every one of the date's
// articles' curves reaches; NULL when an article has no curve at all.
const CurvesSQL = `SELECT publish_date, CASE WHEN bool_and(last_stat IS NOT NULL) THEN min(last_stat) END
	FROM (
		SELECT a.publish_date, a.msgid, max(t.stat_date) AS last_stat
		FROM oa_articles a
		LEFT JOIN oa_article_totals t ON t.app_id = a.app_id AND t.msgid = a.msgid AND t.publish_date = a.publish_date
		WHERE a.app_id = $1 AND a.publish_date >= $2 AND a.publish_date <= $3
		GROUP BY a.publish_date, a.msgid
	) c
	GROUP BY publish_date
	ORDER BY publish_date`

// ArticleCurves implements PullStore.ArticleCurves over db.
func ArticleCurves(ctx context.Context, db *sql.DB, app string, from, to time.Time) ([]Curve, error) {
	rows, err := db.QueryContext(ctx, CurvesSQL, app, dateOf(from), dateOf(to))
	if err != nil {
		return nil, fmt.Errorf("%w: article curves of %s: %w", ErrUnavailable, app, err)
	}
	defer rows.Close()
	var out []Curve
	for rows.Next() {
		var c Curve
		var last sql.NullTime
		if err := rows.Scan(&c.Published, &last); err != nil {
			return nil, fmt.Errorf("article curves of %s: %w", app, err)
		}
		c.Published = dateOf(c.Published)
		if last.Valid {
			c.Through = dateOf(last.Time)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: article curves of %s: %w", ErrUnavailable, app, err)
	}
	return out, nil
}

// Curve tells how far the stored curves of one publish date's articles
// reach.
type Curve struct {
	Published time.Time // the publish date, as 00:00 UTC
	// Through is the last statistics day all of the date's articles have
	// (zero when one has none).
	Through time.Time
}

// maxParams bounds the arguments of one insert, well under PostgreSQL's
// 65535.
const maxParams = 10000

// insertRows is a multi-row INSERT of rows into cols of table, split so no
// statement exceeds maxParams arguments; none for no rows.
func insertRows(table string, cols []string, rows [][]any) []Stmt {
	per := max(1, maxParams/len(cols))
	var out []Stmt
	for len(rows) > 0 {
		n := min(per, len(rows))
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, n*len(cols))
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range r {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "$%d", len(args)+1)
				args = append(args, r[j])
			}
			b.WriteByte(')')
		}
		out = append(out, Stmt{SQL: b.String(), Args: args})
		rows = rows[n:]
	}
	return out
}
