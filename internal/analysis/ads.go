package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "ads",
		Description: "Per day and WeChat ad id: ad-driven visitors, new visitors, add-to-cart users, attributed orders, " +
			"paying users and GMV (fen), and the conversions reported to WeChat, pending and dead.",
		Run: ads,
	})
}

func ads(ctx context.Context, st store.Store, q Query) (*Result, error) {
	return templated(ctx, st, q, "ads", []Column{
		{Name: "day", Type: "day"},
		{Name: "ad_id", Type: "string", Label: "ad id"},
		{Name: "visitors", Type: "int", Label: "ad-driven visitors"},
		{Name: "new_visitors", Type: "int", Label: "new visitors"},
		{Name: "cart_users", Type: "int", Label: "add-to-cart users"},
		{Name: "orders", Type: "int", Label: "orders"},
		{Name: "paying_users", Type: "int", Label: "paying users"},
		{Name: "gmv_fen", Type: "fen", Label: "GMV"},
		{Name: "reported", Type: "int", Label: "conversions reported"},
		{Name: "pending", Type: "int", Label: "conversions pending"},
		{Name: "dead", Type: "int", Label: "conversions dead"},
	}, newSQLData(q), baseArgs(q)...)
}
