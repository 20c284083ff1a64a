package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "wechat-visits",
		Description: "Per day: WeChat's own visit figures of the mini-program (getDailyVisitTrend, pulled by shuyuan) " +
			"beside shuyuan's sessions, visitors, new visitors and page views of the same day, and the differences.",
		Run: wechatVisits,
	})
}

// wechatVisits holds WeChat's daily visit trend, which shuyuan pulls, against
// what the SDK reported: a large gap means pages or sessions without the SDK.
func wechatVisits(ctx context.Context, st store.Store, q Query) (*Result, error) {
	return templated(ctx, st, q, "wechat_visits", []Column{
		{Name: "day", Type: "day"},
		{Name: "wx_sessions", Type: "int", Label: "WeChat: sessions"},
		{Name: "sessions", Type: "int"},
		{Name: "diff_sessions", Type: "int", Label: "sessions: shuyuan − WeChat"},
		{Name: "wx_visitors", Type: "int", Label: "WeChat: visitors"},
		{Name: "visitors", Type: "int"},
		{Name: "diff_visitors", Type: "int", Label: "visitors: shuyuan − WeChat"},
		{Name: "wx_new_visitors", Type: "int", Label: "WeChat: new visitors"},
		{Name: "new_visitors", Type: "int"},
		{Name: "wx_page_views", Type: "int", Label: "WeChat: page views"},
		{Name: "page_views", Type: "int"},
		{Name: "diff_page_views", Type: "int", Label: "page views: shuyuan − WeChat"},
	}, newSQLData(q), dayArgs(q)...)
}
