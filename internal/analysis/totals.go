package analysis

import (
	"context"
	"slices"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "totals",
		Description: "The overview's figures for the range as a whole, in one row: visitors, new visitors, sessions, page views, " +
			"stay time, searchers, add-to-cart, ordering and paying users, orders, GMV, average order value, visitor-to-payer " +
			"conversion. People are counted once over the range, not summed over days.",
		Run: totals,
	})
}

func totals(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	args, err := withOrders(ctx, st, q, &data, baseArgs(q))
	if err != nil {
		return nil, err
	}
	// A copy: a result's columns are its own.
	return templated(ctx, st, q, "totals", slices.Clone(overviewFigures), data, args...)
}
