package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "stores",
		Description: "Per store (the SDK's chan_shop_id, the backend's store_info): visitors, SKU exposures, clicks, detail views " +
			"and add-to-carts, orders, paid orders, GMV, average order value.",
		Run: stores,
	})
}

func stores(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	args, err := withOrders(ctx, st, q, &data, baseArgs(q))
	if err != nil {
		return nil, err
	}
	return templated(ctx, st, q, "stores", []Column{
		{Name: "store_id", Type: "string"},
		{Name: "store_name", Type: "string"},
		{Name: "visitors", Type: "int"},
		{Name: "exposures", Type: "int"},
		{Name: "clicks", Type: "int"},
		{Name: "detail_views", Type: "int"},
		{Name: "cart_adds", Type: "int"},
		{Name: "orders", Type: "int"},
		{Name: "paid_orders", Type: "int"},
		{Name: "gmv_fen", Type: "fen"},
		{Name: "avg_order_fen", Type: "fen"},
	}, data, args...)
}
