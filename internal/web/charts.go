package web

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
)

// A chartSpec is what the page's script (static/dashboard.js) draws with
// ECharts. The server decides everything that makes a chart truthful —
// which series share an axis (one unit each, one scale each), where data
// is missing (null, drawn as a gap), each series' colour (stable across a
// page), which bucket is "none" — so that it is tested in Go; the script
// only formats and draws.
type chartSpec struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"` // line, bar (a ranking), funnel, grouped (a funnel per group)
	Title string `json:"title"`
	Note  string `json:"note,omitempty"`
	// Unit of the value axis: int, fen, ratio or ms.
	Unit string `json:"unit"`
	// X are the categories: days, names or steps.
	X      []string     `json:"x"`
	Series []seriesSpec `json:"series"`
	// Partial marks the last day as still going (today).
	Partial bool `json:"partial,omitempty"`
}

type seriesSpec struct {
	Name  string     `json:"name"`
	Color string     `json:"color"`
	Data  []*float64 `json:"data"` // nil: no data, drawn as a gap
	// Hidden series start switched off in the legend (a click shows them).
	Hidden bool `json:"hidden,omitempty"`
}

// chartPage is the JSON the page embeds for its script.
type chartPage struct {
	Lang   string            `json:"lang"`
	Charts []chartSpec       `json:"charts"`
	Words  map[string]string `json:"words"`
}

// scriptWords are the words the script writes into charts.
var scriptWords = []string{"colon", "unit_h", "unit_min", "unit_s", "unit_ms", "partial", "no_value", "dropped", "of_first", "of_prev", "users_unit", "wan", "yi"}

func newChartPage(lang string, charts []chartSpec) *chartPage {
	p := &chartPage{Lang: lang, Charts: charts, Words: map[string]string{}}
	for _, k := range scriptWords {
		p.Words[k] = t(lang, k)
	}
	return p
}

// palette is distinct on white and for the common colour blindnesses
// (Okabe–Ito first), then further hues for pages with many series.
var palette = []string{
	"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
	"#8C6D31", "#7B4EA3", "#2E8B57", "#B8860B", "#1F3A93", "#C0392B",
}

// noneColor draws the "none" bucket, apart from every real value.
const noneColor = "#9AA0A6"

// colors gives each series key one colour for the whole page, in the order
// the keys are first met.
type colors struct{ seen map[string]string }

func newColors() *colors { return &colors{seen: map[string]string{}} }

func (c *colors) of(key string) string {
	if col, ok := c.seen[key]; ok {
		return col
	}
	col := palette[len(c.seen)%len(palette)]
	c.seen[key] = col
	return col
}

// Limits of what one chart draws; the table has everything.
const (
	maxLines     = 8  // lines shown at first in a split chart; the rest wait in the legend
	maxBars      = 15 // rows of a ranking
	maxGroups    = 8  // groups of a grouped funnel
	maxRetention = 14 // cohorts drawn in the retention chart
)

// chartGroups are the charts of a per-day analysis without a split column:
// columns drawn together share one unit and one scale. Columns of a
// result not named here get charts by the generic rule (sameScaleGroups).
var chartGroups = map[string][][]string{
	"overview": {
		{"visitors", "new_visitors", "sessions"},
		{"page_views"},
		{"searchers", "cart_users", "ordering_users", "paying_users"},
		{"orders", "paid_orders"},
		{"gmv_fen"},
		{"avg_order_fen"},
		{"pay_conversion"},
		{"stay_ms"},
		{"avg_stay_ms"},
	},
	"orders": {
		{"orders", "paid_orders", "paying_users"},
		{"gmv_fen"},
		{"avg_order_fen"},
		{"refunds"},
		{"refund_fen"},
	},
	"reconciliation": {
		{"sum_paid_fen", "paid_fen", "sdk_paid_fen"},
		{"sum_paid", "paid", "sdk_paid"},
		{"sum_order_fen", "order_fen", "sdk_order_fen"},
		{"sum_orders", "orders", "sdk_orders"},
	},
}

// splitKeys are the per-day analyses drawn a line per value of a column.
var splitKeys = map[string]string{"events": "type", "ads": "ad_id", "pages": "page"}

// splitColumns are, for per-day analyses split by a string column, the
// figures charted (one chart each, a line per value of the split).
var splitColumns = map[string][]string{
	"events": {"events", "users"},
	"ads":    {"visitors", "paying_users", "gmv_fen", "reported"},
	"pages":  {"wx_pv", "sdk_pv"},
}

// pageCharts builds the charts of a result.
func pageCharts(lang, name string, res *analysis.Result, chartCol string, partial bool) []chartSpec {
	if len(res.Rows) == 0 || len(res.Columns) == 0 {
		return nil
	}
	pal := newColors()
	var out []chartSpec
	switch {
	case name == "funnel" || colIndex(res, "step") >= 0:
		out = funnelCharts(lang, res, pal)
	case name == "retention":
		out = retentionCharts(lang, res, pal)
	case res.Columns[0].Type == "day":
		out = dayCharts(lang, name, res, pal, partial)
	default:
		out = rankingCharts(lang, name, res, pal, chartCol)
	}
	for i := range out {
		out[i].ID = fmt.Sprintf("chart%d", i+1)
	}
	return out
}

func colIndex(res *analysis.Result, name string) int {
	return slices.IndexFunc(res.Columns, func(c analysis.Column) bool { return c.Name == name })
}

// value reads row[i] as a number; a short row or a non-number is absent.
func value(row []any, i int) (float64, bool) {
	if i < 0 || i >= len(row) {
		return 0, false
	}
	return number(row[i])
}

func ptr(f float64) *float64 { return &f }

// dayAxis lists the days of the range, so a day without a row is a gap.
func dayAxis(res *analysis.Result) []string {
	from, err1 := time.Parse(time.DateOnly, res.From)
	to, err2 := time.Parse(time.DateOnly, res.To)
	var days []string
	if err1 == nil && err2 == nil && !to.Before(from) && to.Sub(from) <= analysis.MaxDays*24*time.Hour {
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			days = append(days, d.Format(time.DateOnly))
		}
		return days
	}
	for _, row := range res.Rows {
		if d := fmt.Sprint(row[0]); !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	return days
}

// dayCharts draws a per-day result: with a string column (the events'
// type, the ads' ad, the pages' page) a chart per figure with a line per
// value; without, the figures in groups of one unit and one scale.
func dayCharts(lang, name string, res *analysis.Result, pal *colors, partial bool) []chartSpec {
	days := dayAxis(res)
	at := make(map[string]int, len(days))
	for i, d := range days {
		at[d] = i
	}
	// Split by the analysis's key column (the events' type, the ads' ad,
	// the pages' page), never by a status or a kind.
	split := -1
	if k, ok := splitKeys[name]; ok {
		split = colIndex(res, k)
	}
	var out []chartSpec
	if split >= 0 {
		cols := splitColumns[name]
		if cols == nil {
			for _, c := range res.Columns {
				if numeric(c.Type) {
					cols = append(cols, c.Name)
				}
			}
		}
		for _, col := range cols {
			if ci := colIndex(res, col); ci >= 0 {
				out = append(out, splitChart(lang, res, days, at, split, ci, pal))
			}
		}
	} else {
		groups := chartGroups[name]
		named := map[string]bool{}
		for _, g := range groups {
			for _, c := range g {
				named[c] = true
			}
		}
		var rest []int
		for i, c := range res.Columns {
			if numeric(c.Type) && !named[c.Name] {
				rest = append(rest, i)
			}
		}
		for _, g := range groups {
			var cols []int
			for _, c := range g {
				if i := colIndex(res, c); i >= 0 {
					cols = append(cols, i)
				}
			}
			if len(cols) > 0 {
				out = append(out, columnsChart(lang, res, days, at, cols, pal))
			}
		}
		for _, cols := range sameScaleGroups(res, rest) {
			out = append(out, columnsChart(lang, res, days, at, cols, pal))
		}
	}
	for i := range out {
		out[i].X = days
		out[i].Partial = partial
	}
	return out
}

// sameScaleGroups puts columns of one type together while their largest
// values are within a factor of 8 of each other, and an average (avg_…)
// never beside a total: a small series beside a large one lies flat.
func sameScaleGroups(res *analysis.Result, cols []int) [][]int {
	type colMax struct {
		i   int
		max float64
	}
	byKind := map[string][]colMax{}
	var kinds []string
	for _, i := range cols {
		c := res.Columns[i]
		kind := c.Type
		if strings.HasPrefix(c.Name, "avg_") {
			kind += "/avg"
		}
		m := 0.0
		for _, row := range res.Rows {
			if f, ok := value(row, i); ok {
				m = max(m, math.Abs(f))
			}
		}
		if _, ok := byKind[kind]; !ok {
			kinds = append(kinds, kind)
		}
		byKind[kind] = append(byKind[kind], colMax{i, m})
	}
	var out [][]int
	for _, k := range kinds {
		list := byKind[k]
		slices.SortStableFunc(list, func(a, b colMax) int { return cmp.Compare(b.max, a.max) })
		var cur []int
		top := 0.0
		for _, cm := range list {
			if len(cur) > 0 && (cm.max*8 < top || len(cur) >= 4) {
				out = append(out, cur)
				cur = nil
			}
			if len(cur) == 0 {
				top = cm.max
			}
			cur = append(cur, cm.i)
		}
		if len(cur) > 0 {
			out = append(out, cur)
		}
	}
	// Keep the result's column order between charts.
	slices.SortStableFunc(out, func(a, b []int) int { return cmp.Compare(slices.Min(a), slices.Min(b)) })
	for _, g := range out {
		slices.Sort(g)
	}
	return out
}

// columnsChart draws columns of one unit, a line each, over the days.
func columnsChart(lang string, res *analysis.Result, days []string, at map[string]int, cols []int, pal *colors) chartSpec {
	c := chartSpec{Kind: "line", Unit: res.Columns[cols[0]].Type}
	var titles []string
	for _, ci := range cols {
		col := res.Columns[ci]
		name := colLabel(lang, res.Analysis, col.Name, col.Label)
		titles = append(titles, name)
		data := make([]*float64, len(days))
		for _, row := range res.Rows {
			d, ok := at[fmt.Sprint(row[0])]
			if !ok {
				continue
			}
			if f, ok := value(row, ci); ok {
				data[d] = ptr(f)
			}
		}
		c.Series = append(c.Series, seriesSpec{Name: name, Color: pal.of(col.Name), Data: data})
	}
	c.Title = strings.Join(titles, t(lang, "list_sep"))
	return c
}

// splitChart draws one figure of a per-day result with a line per value of
// the split column; the values with the largest totals are shown first,
// the others wait in the legend. A day without a row for a value is 0 for
// counts and money (nothing happened) and a gap for ratios and averages.
func splitChart(lang string, res *analysis.Result, days []string, at map[string]int, split, ci int, pal *colors) chartSpec {
	col := res.Columns[ci]
	vals := map[string][]*float64{}
	totals := map[string]float64{}
	names := map[string]string{}
	var keys []string
	additiveCol := col.Type == "int" || col.Type == "fen"
	for _, row := range res.Rows {
		key := fmt.Sprint(row[split])
		if row[split] == nil {
			key = ""
		}
		if _, ok := vals[key]; !ok {
			vals[key] = make([]*float64, len(days))
			if additiveCol {
				for i := range vals[key] {
					vals[key][i] = ptr(0)
				}
			}
			keys = append(keys, key)
			names[key], _ = displayValue(lang, res, row, split)
		}
		d, ok := at[fmt.Sprint(row[0])]
		if !ok {
			continue
		}
		if f, ok := value(row, ci); ok {
			vals[key][d] = ptr(f)
			totals[key] += f
		}
	}
	slices.SortStableFunc(keys, func(a, b string) int {
		if (a == "") != (b == "") { // the none bucket last
			if a == "" {
				return 1
			}
			return -1
		}
		return cmp.Compare(totals[b], totals[a])
	})
	c := chartSpec{Kind: "line", Unit: col.Type, Title: colLabel(lang, res.Analysis, col.Name, col.Label)}
	for i, k := range keys {
		color := pal.of(res.Columns[split].Name + "=" + k)
		if k == "" {
			color = noneColor
		}
		c.Series = append(c.Series, seriesSpec{Name: names[k], Color: color, Data: vals[k], Hidden: i >= maxLines})
	}
	if len(keys) > maxLines {
		c.Note = fmt.Sprintf(t(lang, "more_in_legend"), maxLines, len(keys))
	}
	return c
}
