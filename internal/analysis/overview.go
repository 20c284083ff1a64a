package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name:        "overview",
		Description: "Per day: visitors, new visitors, sessions, page views, stay time, searchers, add-to-cart users, ordering and paying users, orders, GMV, average order value, visitor-to-payer conversion.",
		Run:         overview,
	})
}

func overview(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	args, err := withOrders(ctx, st, q, &data, baseArgs(q))
	if err != nil {
		return nil, err
	}
	return templated(ctx, st, q, "overview", append([]Column{{Name: "day", Type: "day"}}, overviewFigures...), data, args...)
}

// overviewFigures are the columns of overview after its day, and those of
// totals, which gives the same figures for the range as a whole.
var overviewFigures = []Column{
	{Name: "visitors", Type: "int"},
	{Name: "new_visitors", Type: "int"},
	{Name: "sessions", Type: "int"},
	{Name: "page_views", Type: "int"},
	{Name: "stay_ms", Type: "ms"},
	{Name: "avg_stay_ms", Type: "ms"},
	{Name: "searchers", Type: "int"},
	{Name: "cart_users", Type: "int"},
	{Name: "ordering_users", Type: "int"},
	{Name: "orders", Type: "int"},
	{Name: "paying_users", Type: "int"},
	{Name: "paid_orders", Type: "int"},
	{Name: "gmv_fen", Type: "fen"},
	{Name: "avg_order_fen", Type: "fen"},
	{Name: "pay_conversion", Type: "ratio"},
}
