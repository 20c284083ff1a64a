package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name:        "retention",
		Description: "Per first-visit day: new users and the share of them back on day 1..7, 14 and 30.",
		Run:         retention,
	})
}

// retentionDays are the days after the first visit retention reports.
var retentionDays = []int{1, 2, 3, 4, 5, 6, 7, 14, 30}

// retentionNow is the clock retention reads "today" from; tests set it.
var retentionNow = time.Now

func retention(ctx context.Context, st store.Store, q Query) (*Result, error) {
	data := newSQLData(q)
	data.DaysEnd = "$5"
	cols := []Column{{Name: "day", Type: "day"}, {Name: "new_users", Type: "int"}}
	for _, n := range retentionDays {
		data.Days = append(data.Days, n)
		cols = append(cols, Column{Name: fmt.Sprintf("d%d", n), Type: "ratio", Label: fmt.Sprintf("back on day %d", n)})
	}
	last := retentionDays[len(retentionDays)-1]
	today := retentionNow().In(q.App.Location).Format("2006-01-02")
	args := append(baseArgs(q), q.To.AddDate(0, 0, last+1).UTC(), today)
	return templated(ctx, st, q, "retention", cols, data, args...)
}
