package analysis

import (
	"context"
	"fmt"
	"strings"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "official-account",
		Description: "Users known by union_id and those who came in through the official account (its scenes, " +
			"?accounts= its appids as chan_refer_app_id, ?articles= chan_custom_id prefixes of its articles, default mp-article): " +
			"visitors, union-known visitors, buyers, union-known buyers, GMV, share of buyers whose union_id is known.",
		Params: []Param{{Name: "accounts"}, {Name: "articles", Default: defaultArticle}},
		Run:    officialAccount,
	})
}

// Limits of the official-account lists.
const (
	maxListItems   = 20
	maxListItemLen = 128
	defaultArticle = "mp-article"
)

func officialAccount(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	args := baseArgs(q)
	accounts, err := listParam(q, "accounts", "")
	if err != nil {
		return nil, err
	}
	articles, err := listParam(q, "articles", defaultArticle)
	if err != nil {
		return nil, err
	}
	for _, a := range accounts {
		args = append(args, a)
		data.Accounts = append(data.Accounts, fmt.Sprintf("$%d", len(args)))
	}
	for _, a := range articles {
		args = append(args, a)
		data.Articles = append(data.Articles, fmt.Sprintf("$%d", len(args)))
	}
	if args, err = withOrders(ctx, st, q, &data, args); err != nil {
		return nil, err
	}
	return templated(ctx, st, q, "official_account", []Column{
		{Name: "group", Type: "string"},
		{Name: "value", Type: "string"},
		{Name: "visitors", Type: "int"},
		{Name: "union_visitors", Type: "int", Label: "visitors whose union_id is known"},
		{Name: "buyers", Type: "int"},
		{Name: "union_buyers", Type: "int", Label: "buyers whose union_id is known"},
		{Name: "gmv_fen", Type: "fen"},
		{Name: "union_buyer_share", Type: "ratio", Label: "union_buyers / buyers"},
	}, data, args...)
}

// listParam reads a comma-separated list parameter; def applies when the
// parameter is absent (an empty value means an empty list).
func listParam(q Query, name, def string) ([]string, error) {
	s, ok := q.Params[name]
	v := def
	if ok {
		v = strings.Join(s, ",")
	}
	var out []string
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if len(item) > maxListItemLen {
			return nil, &BadRequest{name, fmt.Sprintf("items must be at most %d characters", maxListItemLen)}
		}
		out = append(out, item)
	}
	if len(out) > maxListItems {
		return nil, &BadRequest{name, fmt.Sprintf("at most %d items, got %d", maxListItems, len(out))}
	}
	return out, nil
}
