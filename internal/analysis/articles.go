package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "articles",
		Description: "Per day and official-account article: WeChat's readers, sharers and follows of the article beside " +
			"the sessions, visitors, ordering users, paid orders and GMV of the sessions whose link carried one of its " +
			"markers (chan_id); plus, per day, the article scenes (1058, 1091) without a marker, and all of them beside " +
			"WeChat's article source.",
		Run: articles,
	})
}

// articles is the article join of issue 12 (docs/wechat-data.md): the
// markers the merchant put in the article links (store.ArticleMarker), the
// pulled article data, and shuyuan's own sessions and orders.
func articles(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	args, err := withOrders(ctx, st, q, &data, dayArgs(q))
	if err != nil {
		return nil, err
	}
	return templated(ctx, st, q, "articles", []Column{
		{Name: "day", Type: "day"},
		{Name: "kind", Type: "string", Label: "article, no_marker or article_scenes"},
		{Name: "msgid", Type: "string", Label: "article (msgid)"},
		{Name: "title", Type: "string"},
		{Name: "published", Type: "day"},
		{Name: "markers", Type: "string"},
		{Name: "read_users", Type: "int", Label: "WeChat: readers"},
		{Name: "share_users", Type: "int", Label: "WeChat: sharers"},
		{Name: "follows", Type: "int", Label: "WeChat: follows after reading"},
		{Name: "sessions", Type: "int"},
		{Name: "visitors", Type: "int"},
		{Name: "ordering_users", Type: "int"},
		{Name: "paid_orders", Type: "int"},
		{Name: "gmv_fen", Type: "fen"},
		{Name: "wx_article_sessions", Type: "int", Label: "WeChat: sessions from articles"},
		{Name: "wx_article_visitors", Type: "int", Label: "WeChat: visitors from articles"},
	}, data, args...)
}
