package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "pages",
		Description: "Per day and page: WeChat's visit-page report (pushed through add_wxapp_visit_page, else " +
			"pulled from getVisitPage) beside the SDK's own browse_wxapp_page views and users of the page.",
		Run: pages,
	})
}

func pages(ctx context.Context, st store.Store, q Query) (*Result, error) {
	return templated(ctx, st, q, "pages", []Column{
		{Name: "day", Type: "day"},
		{Name: "page", Type: "string"},
		{Name: "wx_pv", Type: "int", Label: "WeChat: views"},
		{Name: "wx_uv", Type: "int", Label: "WeChat: visitors"},
		{Name: "wx_stay_ms", Type: "ms", Label: "WeChat: stay per view"},
		{Name: "wx_entry_pv", Type: "int", Label: "WeChat: entries"},
		{Name: "wx_exit_pv", Type: "int", Label: "WeChat: exits"},
		{Name: "wx_share_pv", Type: "int", Label: "WeChat: shares"},
		{Name: "wx_share_uv", Type: "int", Label: "WeChat: sharers"},
		{Name: "sdk_pv", Type: "int", Label: "SDK: views"},
		{Name: "sdk_uv", Type: "int", Label: "SDK: users"},
		{Name: "diff_pv", Type: "int", Label: "SDK − WeChat: views"},
		{Name: "wx_source", Type: "string", Label: "WeChat figures: pushed or pulled"},
		{Name: "pulled_pv", Type: "int", Label: "WeChat, pulled: views"},
	}, newSQLData(q), dayArgs(q)...)
}
