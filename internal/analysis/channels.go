package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "channels",
		Description: "Per chan_id, per WeChat scene and per level of chan_custom (cat_1, cat_2, cat_3, id): visitors, sessions, " +
			"paying users, paid orders and GMV; ?dimension= one of them only.",
		Params: []Param{channelDimension},
		Run:    channels,
	})
}

// channelDim is a dimension of the channels analysis: a column of the
// session rows and of the orders, and its place in the output.
type channelDim struct {
	Name  string
	Order int
}

// channelDimension is ?dimension=, one dimension instead of all.
var channelDimension = Param{Name: "dimension", Options: []string{
	"chan_id", "scene", "chan_custom_cat_1", "chan_custom_cat_2", "chan_custom_cat_3", "chan_custom_id",
}}

// channelDims are the dimensions, in output order.
var channelDims = []channelDim{
	{"chan_id", 1}, {"scene", 2},
	{"chan_custom_cat_1", 3}, {"chan_custom_cat_2", 4}, {"chan_custom_cat_3", 5}, {"chan_custom_id", 6},
}

func channels(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	data.Dims = channelDims
	if d := q.Params.Get("dimension"); d != "" {
		data.Dims = nil
		for _, cd := range channelDims {
			if cd.Name == d {
				data.Dims = []channelDim{cd}
			}
		}
		if data.Dims == nil {
			return nil, channelDimension.oneOf(d)
		}
	}
	args, err := withOrders(ctx, st, q, &data, baseArgs(q))
	if err != nil {
		return nil, err
	}
	return templated(ctx, st, q, "channels", []Column{
		{Name: "dimension", Type: "string"},
		{Name: "value", Type: "string"},
		{Name: "visitors", Type: "int"},
		{Name: "sessions", Type: "int"},
		{Name: "paying_users", Type: "int"},
		{Name: "paid_orders", Type: "int"},
		{Name: "gmv_fen", Type: "fen"},
	}, data, args...)
}
