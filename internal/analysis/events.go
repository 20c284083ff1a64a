package analysis

import (
	"context"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name:        "events",
		Description: "Per day and behaviour: events and distinct users (open_id, else local_id).",
		Run:         events,
	})
}

func events(ctx context.Context, st store.Store, q Query) (*Result, error) {
	return templated(ctx, st, q, "events", []Column{
		{Name: "day", Type: "day"},
		{Name: "type", Type: "string"},
		{Name: "kind", Type: "string"},
		{Name: "events", Type: "int"},
		{Name: "users", Type: "int"},
	}, newSQLData(q), baseArgs(q)...)
}
