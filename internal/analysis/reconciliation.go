package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "reconciliation",
		Description: "Per day: the merchant's add_order_sum totals beside the same totals from the stored orders " +
			"and from the SDK's custom_order events, with the differences.",
		Run: reconciliation,
	})
}

func reconciliation(ctx context.Context, st store.Store, q Query) (*Result, error) {
	return templated(ctx, st, q, "reconciliation", []Column{
		{Name: "day", Type: "day"},
		{Name: "sum_orders", Type: "int", Label: "merchant: orders"},
		{Name: "sum_order_fen", Type: "fen", Label: "merchant: order amount"},
		{Name: "sum_paid", Type: "int", Label: "merchant: paid"},
		{Name: "sum_paid_fen", Type: "fen", Label: "merchant: paid amount"},
		{Name: "orders", Type: "int", Label: "orders: created"},
		{Name: "order_fen", Type: "fen", Label: "orders: order amount"},
		{Name: "paid", Type: "int", Label: "orders: paid"},
		{Name: "paid_fen", Type: "fen", Label: "orders: paid amount"},
		{Name: "sdk_orders", Type: "int", Label: "SDK: orders"},
		{Name: "sdk_order_fen", Type: "fen", Label: "SDK: order amount"},
		{Name: "sdk_paid", Type: "int", Label: "SDK: paid"},
		{Name: "sdk_paid_fen", Type: "fen", Label: "SDK: paid amount"},
		{Name: "diff_orders", Type: "int", Label: "orders − merchant: orders"},
		{Name: "diff_order_fen", Type: "fen", Label: "orders − merchant: order amount"},
		{Name: "diff_paid", Type: "int", Label: "orders − merchant: paid"},
		{Name: "diff_paid_fen", Type: "fen", Label: "orders − merchant: paid amount"},
		{Name: "sdk_diff_orders", Type: "int", Label: "SDK − merchant: orders"},
		{Name: "sdk_diff_order_fen", Type: "fen", Label: "SDK − merchant: order amount"},
		{Name: "sdk_diff_paid", Type: "int", Label: "SDK − merchant: paid"},
		{Name: "sdk_diff_paid_fen", Type: "fen", Label: "SDK − merchant: paid amount"},
		{Name: "status", Type: "string", Label: "ok / differs / no_sum"},
	}, newSQLData(q), dayArgs(q)...)
}
