package analysis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func init() {
	register(Analysis{
		Name: "funnel",
		Description: "Users who did each step in order, each within ?window= (default 1d) of the previous: " +
			"?steps=browse_sku_page,add_to_cart,custom_order:payed (default), optional ?by=guide_id|room_id|ad_id|store_id|chan_id.",
		Params: []Param{
			{Name: "steps", Default: defaultSteps},
			{Name: "window", Default: "1d"},
			funnelByParam,
		},
		Run: funnel,
	})
}

// Funnel limits.
const (
	maxFunnelSteps  = 10
	defaultSteps    = "browse_sku_page,add_to_cart,custom_order:payed"
	maxFunnelWindow = 90 * 24 * time.Hour
)

// funnelByParam is ?by=, the value funnels are split by.
var funnelByParam = Param{Name: "by", Options: []string{"guide_id", "room_id", "ad_id", "store_id", "chan_id"}}

// funnelBy maps ?by= to the events column carrying it (store_id is the
// event's shop: chan_shop_id, else store_info, else the SKU's shipping shop).
var funnelBy = map[string]string{
	"guide_id": "guide_id",
	"room_id":  "room_id",
	"ad_id":    "ad_id",
	"store_id": "shop_id",
	"chan_id":  "chan_id",
}

// funnelStep is one step of the funnel query: the bind parameters of its
// event type and qualifier, and the column the qualifier is compared with
// (from qualifierColumns, never from the request; "" without a qualifier).
type funnelStep struct {
	N, Prev    int
	Type, Qual string
	QualColumn string
	// NoRemovals leaves out add_to_cart's remove_from_cart events.
	NoRemovals bool
	// Last is the funnel's last step, whose reaches no step follows.
	Last bool
}

// qualifierColumns maps an event type to the column a step's qualifier
// (type:value) is compared with; other types compare it with the page.
var qualifierColumns = map[string]string{
	"custom_order":           "order_status",
	"add_to_cart":            "action_type",
	"search":                 "keyword",
	"page_share_app_message": "share_to",
	"expose_sku_component":   "sku_id",
	"trigger_sku_component":  "sku_id",
	"browse_sku_page":        "sku_id",
}

func funnel(ctx context.Context, st store.Store, q Query) (*Result, error) {
	spec := q.Params.Get("steps")
	if spec == "" {
		spec = defaultSteps
	}
	parts := strings.Split(spec, ",")
	if len(parts) > maxFunnelSteps {
		return nil, &BadRequest{"steps", fmt.Sprintf("at most %d steps, got %d", maxFunnelSteps, len(parts))}
	}
	window := 24 * time.Hour
	if w := q.Params.Get("window"); w != "" {
		var err error
		if window, err = parseWindow(w); err != nil {
			return nil, err
		}
	}
	data := newSQLData(q)
	// The window is bound as $5 and also written into the SQL, where
	// PostgreSQL's buckets need it as a constant (store.Dialect.TimeBucket).
	secs := int64(window / time.Second)
	data.WindowSeconds = int(secs)
	args := append(baseArgs(q), secs)
	// The narrow roll-up holds the events of the step types only.
	data.StepRollup = !data.Raw
	for i, p := range parts {
		typ, qual, _ := strings.Cut(strings.TrimSpace(p), ":")
		if typ == "" || len(typ) > 64 || len(qual) > 256 {
			return nil, &BadRequest{"steps", fmt.Sprintf("step %d: want type or type:value (type up to 64 characters), got %q", i+1, p)}
		}
		data.StepRollup = data.StepRollup && slices.Contains(event.StepTypes, typ)
		step := funnelStep{N: i, Prev: i - 1, Type: fmt.Sprintf("$%d", len(args)+1)}
		args = append(args, typ)
		switch {
		case qual != "":
			step.QualColumn = qualifierColumns[typ]
			if step.QualColumn == "" {
				step.QualColumn = "page"
			}
			args = append(args, qual)
			step.Qual = fmt.Sprintf("$%d", len(args))
		case typ == "add_to_cart":
			step.NoRemovals = true
		}
		data.Steps = append(data.Steps, step)
	}
	data.Steps[len(data.Steps)-1].Last = true
	cols := []Column{}
	if by := q.Params.Get("by"); by != "" {
		if err := funnelByParam.oneOf(by); err != nil {
			return nil, err
		}
		col := funnelBy[by]
		data.By = col
		cols = append(cols, Column{Name: by, Type: "string"})
	}
	// rollup_step_hours is PostgreSQL's only.
	data.StepHours = st.Dialect() == store.Postgres && data.StepRollup && data.Steps[0].Qual == "" && secs%3600 == 0
	cols = append(cols,
		Column{Name: "step", Type: "int"},
		Column{Name: "name", Type: "string"},
		Column{Name: "users", Type: "int"},
		Column{Name: "conversion", Type: "ratio", Label: "users / users of step 1"},
		Column{Name: "step_conversion", Type: "ratio", Label: "users / users of the previous step"},
	)
	return templated(ctx, st, q, "funnel", cols, data, args...)
}

// parseWindow reads a window as a number and a unit (90s, 30m, 12h, 1d) or
// a Go duration (1h30m).
func parseWindow(s string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && strings.HasSuffix(s, "d") {
		d = time.Duration(n) * 24 * time.Hour
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, &BadRequest{"window", fmt.Sprintf("must be a duration such as 30m, 12h or 1d, got %q", s)}
	}
	if d < time.Second || d > maxFunnelWindow {
		return 0, &BadRequest{"window", fmt.Sprintf("must be between 1s and 90d, got %q", s)}
	}
	return d, nil
}
