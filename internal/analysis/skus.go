package analysis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "skus",
		Description: "Per SKU: exposures, exposure users, clicks, click-through rate, detail views, add-to-cart units and users, " +
			"orders, paid units and GMV; ?sort= any of those columns (default exposures), ?limit= top N (default 100).",
		Params: []Param{skuSort, rankLimit},
		Run:    skus,
	})
}

// skuSort is ?sort=, the column the SKUs are ranked by.
var skuSort = Param{Name: "sort", Default: "exposures", Options: []string{
	"exposures", "exposure_users", "clicks", "ctr", "detail_views",
	"cart_units", "cart_users", "orders", "paid_units", "gmv_fen",
}}

// rankLimit is ?limit=, how many rows the ranking analyses return.
var rankLimit = Param{Name: "limit", Default: strconv.Itoa(defaultLimit)}

// Limits of ?limit= for the ranking analyses.
const (
	defaultLimit = 100
	maxLimit     = 10000
)

func skus(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	data.Sort = skuSort.Default
	if s := q.Params.Get("sort"); s != "" {
		if err := skuSort.oneOf(s); err != nil {
			return nil, err
		}
		data.Sort = s
	}
	limit, err := limitParam(q)
	if err != nil {
		return nil, err
	}
	args, err := withOrders(ctx, st, q, &data, append(baseArgs(q), limit))
	if err != nil {
		return nil, err
	}
	return templated(ctx, st, q, "skus", []Column{
		{Name: "sku_id", Type: "string"},
		{Name: "sku_name", Type: "string"},
		{Name: "exposures", Type: "int"},
		{Name: "exposure_users", Type: "int"},
		{Name: "clicks", Type: "int"},
		{Name: "ctr", Type: "ratio", Label: "clicks / exposures"},
		{Name: "detail_views", Type: "int"},
		{Name: "cart_units", Type: "int"},
		{Name: "cart_users", Type: "int"},
		{Name: "orders", Type: "int"},
		{Name: "paid_units", Type: "int"},
		{Name: "gmv_fen", Type: "fen"},
	}, data, args...)
}

// limitParam reads ?limit=, 1..maxLimit, default defaultLimit.
func limitParam(q Query) (int64, error) {
	s := q.Params.Get("limit")
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, &BadRequest{"limit", fmt.Sprintf("must be a whole number from 1 to %d, got %q", maxLimit, s)}
	}
	return int64(n), nil
}
