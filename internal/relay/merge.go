package relay

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/shuyuan-dev/shuyuan/internal/order"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// MaxOrdersPerCall is the most orders one relayed add_order call carries,
// Youshu's limit per call (spec C).
const MaxOrdersPerCall = 50

// orderCall is the body of a relayed add_order row: one data source and
// its orders, each as sent.
type orderCall struct {
	DataSourceID string            `json:"dataSourceId"`
	Orders       []json.RawMessage `json:"orders"`
}

// units splits claimed rows into what goes in one call: the add_order
// rows of one data source together, up to MaxOrdersPerCall orders, each
// other row alone. Units keep the order of their first row.
func units(rows []store.ClaimedRelay) [][]store.ClaimedRelay {
	var out [][]store.ClaimedRelay
	open := map[string]int{} // data source -> index in out of its filling unit
	count := map[int]int{}   // index in out -> orders in it
	for _, r := range rows {
		var c orderCall
		if r.Kind != order.RelayAddOrder || json.Unmarshal([]byte(r.Body), &c) != nil || len(c.Orders) == 0 {
			out = append(out, []store.ClaimedRelay{r})
			continue
		}
		if i, ok := open[c.DataSourceID]; ok && count[i]+len(c.Orders) <= MaxOrdersPerCall {
			out[i] = append(out[i], r)
			count[i] += len(c.Orders)
			continue
		}
		open[c.DataSourceID] = len(out)
		count[len(out)] = len(c.Orders)
		out = append(out, []store.ClaimedRelay{r})
	}
	return out
}

// result is the outcome of sending one row.
type result struct{ outcome, answer string }

// sendUnit sends a unit in one call and gives each of its rows the
// outcome. When Youshu refuses a merged call, its rows are sent one by
// one, so that only the order it refuses goes dead.
func (w *Worker) sendUnit(ctx context.Context, rl *tenant.Relay, u []store.ClaimedRelay) []result {
	if len(u) == 1 {
		o, a := w.send(ctx, rl, u[0])
		return []result{{o, a}}
	}
	merged := orderCall{}
	for i, r := range u {
		var c orderCall
		json.Unmarshal([]byte(r.Body), &c) //nolint:errcheck // units parsed it already
		if i == 0 {
			merged.DataSourceID = c.DataSourceID
		}
		merged.Orders = append(merged.Orders, c.Orders...)
	}
	out := make([]result, len(u))
	body, err := json.Marshal(merged)
	if err != nil {
		for i := range out {
			out[i] = result{Refused, fmt.Sprintf("merge relay rows: %v", err)}
		}
		return out
	}
	call := u[0]
	call.Body = string(body)
	o, a := w.send(ctx, rl, call)
	if o != Refused {
		for i := range out {
			out[i] = result{o, a}
		}
		return out
	}
	for i, r := range u {
		o, a := w.send(ctx, rl, r)
		out[i] = result{o, a}
	}
	return out
}
