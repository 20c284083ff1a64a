package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name:        "orders",
		Description: "Per day: backend orders created and paid, GMV, paying users, refunds and the average paid order (fen).",
		Run:         orders,
	})
}

func orders(ctx context.Context, st store.Store, q Query) (*Result, error) {
	return table(ctx, st, q, "orders", []Column{
		{Name: "day", Type: "day"},
		{Name: "orders", Type: "int", Label: "orders created"},
		{Name: "paid_orders", Type: "int", Label: "orders paid"},
		{Name: "gmv_fen", Type: "fen", Label: "GMV"},
		{Name: "paying_users", Type: "int", Label: "paying users"},
		{Name: "refunds", Type: "int", Label: "refunds"},
		{Name: "refund_fen", Type: "fen", Label: "refunded"},
		{Name: "avg_order_fen", Type: "fen", Label: "average paid order"},
	}, dayArgs(q)...)
}

// dayArgs are the parameters of the per-day queries: the time zone, the
// app, the UTC bounds and the first and last local day.
func dayArgs(q Query) []any {
	return []any{q.App.Location.String(), q.App.ID, q.Start(), q.End(),
		q.From.Format("2006-01-02"), q.To.Format("2006-01-02")}
}
