package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "live",
		Description: "Per live room (room_id): visitors, sessions, stay time, SKU exposures, clicks and add-to-carts from the room, " +
			"orders, paid orders, paying users and GMV attributed to the room.",
		Run: live,
	})
}

func live(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	args, err := withOrders(ctx, st, q, &data, baseArgs(q))
	if err != nil {
		return nil, err
	}
	return templated(ctx, st, q, "live", []Column{
		{Name: "room_id", Type: "string"},
		{Name: "visitors", Type: "int"},
		{Name: "sessions", Type: "int"},
		{Name: "stay_ms", Type: "ms"},
		{Name: "exposures", Type: "int"},
		{Name: "clicks", Type: "int"},
		{Name: "cart_adds", Type: "int"},
		{Name: "orders", Type: "int"},
		{Name: "paid_orders", Type: "int"},
		{Name: "paying_users", Type: "int"},
		{Name: "gmv_fen", Type: "fen"},
	}, data, args...)
}
