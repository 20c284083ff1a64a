package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "guides",
		Description: "Per shopping guide (guide_id from the SDK's chan and from backend orders): visitors brought, shares, " +
			"add-to-cart users, orders, paid orders, paying users, GMV, refunds.",
		Run: guides,
	})
}

func guides(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	args, err := withOrders(ctx, st, q, &data, baseArgs(q))
	if err != nil {
		return nil, err
	}
	return templated(ctx, st, q, "guides", []Column{
		{Name: "guide_id", Type: "string"},
		{Name: "visitors", Type: "int"},
		{Name: "shares", Type: "int"},
		{Name: "cart_users", Type: "int"},
		{Name: "orders", Type: "int"},
		{Name: "paid_orders", Type: "int"},
		{Name: "paying_users", Type: "int"},
		{Name: "gmv_fen", Type: "fen"},
		{Name: "refunds", Type: "int"},
		{Name: "refund_fen", Type: "fen"},
	}, data, args...)
}
