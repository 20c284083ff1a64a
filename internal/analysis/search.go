package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name:        "search",
		Description: "Per keyword: searches, searchers, searches followed by a SKU click and their share; ?limit= top N by searches (default 100).",
		Params:      []Param{rankLimit},
		Run:         search,
	})
}

func search(ctx context.Context, st store.Store, q Query) (*Result, error) {
	limit, err := limitParam(q)
	if err != nil {
		return nil, err
	}
	data := newSQLData(q)
	data.StepRollup = !data.Raw // search and SKU clicks are step types
	return templated(ctx, st, q, "search", []Column{
		{Name: "keyword", Type: "string"},
		{Name: "searches", Type: "int"},
		{Name: "searchers", Type: "int"},
		{Name: "searches_clicked", Type: "int", Label: "followed by a SKU click"},
		{Name: "click_rate", Type: "ratio", Label: "searches_clicked / searches"},
	}, data, append(baseArgs(q), limit)...)
}
