package analysis

import (
	"context"
	"fmt"

	"github.com/shuyuan-dev/shuyuan/internal/event"
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
	data := newSQLData(q)
	args := baseArgs(q)
	if !data.Raw {
		// The roll-up's bit i is event.KnownTypes[i].
		for _, t := range event.KnownTypes {
			args = append(args, t)
			data.Known = append(data.Known, fmt.Sprintf("$%d", len(args)))
		}
	}
	return templated(ctx, st, q, "events", []Column{
		{Name: "day", Type: "day"},
		{Name: "type", Type: "string"},
		{Name: "kind", Type: "string"},
		{Name: "events", Type: "int"},
		{Name: "users", Type: "int"},
	}, data, args...)
}
