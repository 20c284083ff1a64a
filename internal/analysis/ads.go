package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "ads",
		Description: "Per day and WeChat ad id: ad-driven visitors, new visitors, add-to-cart users, the paid orders credited " +
			"to the ad (each order once, backend or SDK, as everywhere), paying users and GMV (fen), and the conversions " +
			"reported to WeChat, pending and dead, and those sent again after a lost answer.",
		Run: ads,
	})
}

func ads(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	args, err := withOrders(ctx, st, q, &data, baseArgs(q))
	if err != nil {
		return nil, err
	}
	window := q.App.AttributionWindow
	if window <= 0 {
		window = attribution.DefaultWindow
	}
	args = append(args, int64(window/time.Second))
	data.Window = fmt.Sprintf("$%d", len(args))
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
		{Name: "resent", Type: "int", Label: "conversions re-sent after a lost answer"},
	}, data, args...)
}
