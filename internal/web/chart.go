package web

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
)

// A chart is drawn as inline SVG by the page template from this model: the
// server computes every coordinate, so the page needs no script.
type chart struct {
	Kind   string // line, bar or funnel
	Title  string
	Note   string
	Width  float64
	Height float64

	// Line charts.
	Left, Right, Top, Bottom float64
	YTicks, XTicks           []tick
	Series                   []series

	// Bar charts: labels end at LabelX, bars start at BarX.
	Bars         []bar
	LabelX, BarX float64

	// Funnel charts: labels end at LabelX, figures start at TextX.
	Steps []step
	TextX float64
}

type tick struct {
	Pos   float64
	Label string
}

type series struct {
	Name, Color, Path string
	Dots              []dot
}

type dot struct {
	X, Y  float64
	Title string
}

type bar struct {
	Y, W         float64
	Label, Value string
	Color        string
}

type step struct {
	Y, X, W      float64
	Label, Value string
	Conv         string // conversion from the previous and the first step
	Color        string
}

// choice is one column a bar chart can rank by.
type choice struct {
	Label, URL string
	Current    bool
}

// palette is distinct on white and for the common colour blindnesses
// (Okabe–Ito, with blue first).
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"}

const (
	chartW       = 720.0 // bars and funnels, drawn full width
	lineW        = 520.0 // line charts, two abreast, so their text stays legible
	maxSeries    = 8     // lines in one chart
	maxPerGroup  = 6     // columns of one unit drawn together
	maxBars      = 15    // rows of a ranking drawn
	maxFunnels   = 6     // groups of a funnel drawn
	lineH        = 250.0
	barRowH      = 24.0
	funnelRowH   = 44.0
	barLabelW    = 220.0
	barValueW    = 110.0
	funnelLabelW = 170.0
	funnelTextW  = 190.0
)

// shape says which charts suit a result: a funnel for the funnel analysis
// (its rows are steps), lines when the first column is a day, bars for a
// ranking (anything else with a number to rank by).
func shape(name string, res *analysis.Result) string {
	if len(res.Rows) == 0 || len(res.Columns) == 0 {
		return ""
	}
	if name == "funnel" || colIndex(res, "step") >= 0 {
		return "funnel"
	}
	if !slices.ContainsFunc(res.Columns, func(c analysis.Column) bool { return numeric(c.Type) }) {
		return ""
	}
	if res.Columns[0].Type == "day" {
		return "line"
	}
	return "bar"
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

// text reads row[i] for a label.
func text(lang string, res *analysis.Result, row []any, i int) string {
	if i < 0 || i >= len(row) {
		return empty
	}
	return cell(lang, res.Columns[i].Type, row[i])
}

// lineCharts draws a result whose first column is a day. With a string
// column (like the events' type) each numeric column gets a chart with one
// line per value of it; without, the numeric columns are drawn together by
// unit, one line each.
func lineCharts(lang string, res *analysis.Result) []chart {
	days := dayAxis(res)
	at := make(map[string]int, len(days))
	for i, d := range days {
		at[d] = i
	}
	split := slices.IndexFunc(res.Columns, func(c analysis.Column) bool { return c.Type == "string" })
	var out []chart
	if split >= 0 {
		for ci, c := range res.Columns {
			if !numeric(c.Type) {
				continue
			}
			out = append(out, splitChart(lang, res, days, at, split, ci))
		}
		return out
	}
	// Group the numeric columns by unit, in column order.
	var order []string
	groups := map[string][]int{}
	for ci, c := range res.Columns {
		if numeric(c.Type) {
			if _, seen := groups[c.Type]; !seen {
				order = append(order, c.Type)
			}
			groups[c.Type] = append(groups[c.Type], ci)
		}
	}
	for _, typ := range order {
		cols := groups[typ]
		for len(cols) > 0 {
			n := min(len(cols), maxPerGroup)
			out = append(out, columnsChart(lang, res, days, at, cols[:n]))
			cols = cols[n:]
		}
	}
	return out
}

// dayAxis lists every day of the result's range, so days without data show
// as such; if the range cannot be read, the days of the rows.
func dayAxis(res *analysis.Result) []string {
	from, err1 := time.Parse("2006-01-02", res.From)
	to, err2 := time.Parse("2006-01-02", res.To)
	if err1 == nil && err2 == nil && !to.Before(from) && to.Sub(from) <= analysis.MaxDays*24*time.Hour {
		var days []string
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			days = append(days, d.Format("2006-01-02"))
		}
		return days
	}
	var days []string
	for _, row := range res.Rows {
		if d := fmt.Sprint(row[0]); !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	return days
}

// additive columns sum over rows and read 0 where a day has no row.
func additive(typ string) bool { return typ == "int" || typ == "fen" }

func splitChart(lang string, res *analysis.Result, days []string, at map[string]int, split, ci int) chart {
	typ := res.Columns[ci].Type
	vals := map[string][]*float64{}
	totals := map[string]float64{}
	var names []string
	for _, row := range res.Rows {
		if len(row) <= max(split, ci) {
			continue
		}
		di, ok := at[fmt.Sprint(row[0])]
		if !ok {
			continue
		}
		name := text(lang, res, row, split)
		if _, seen := vals[name]; !seen {
			names = append(names, name)
			vals[name] = make([]*float64, len(days))
		}
		v, ok := value(row, ci)
		if !ok {
			continue
		}
		if p := vals[name][di]; p != nil && additive(typ) {
			v += *p
		}
		vals[name][di] = &v
		totals[name] += math.Abs(v)
	}
	// The largest series are drawn; the rest stay in the table.
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(totals[b], totals[a]) })
	c := chart{Kind: "line", Title: label(lang, res.Columns[ci].Name, res.Columns[ci].Label)}
	if len(names) > maxSeries {
		c.Note = fmt.Sprintf(t(lang, "top_n"), maxSeries)
		names = names[:maxSeries]
	}
	var lines []line
	for _, n := range names {
		ys := vals[n]
		if additive(typ) {
			for i := range ys {
				if ys[i] == nil {
					zero := 0.0
					ys[i] = &zero
				}
			}
		}
		lines = append(lines, line{n, ys})
	}
	layoutLines(lang, &c, typ, days, lines)
	return c
}

func columnsChart(lang string, res *analysis.Result, days []string, at map[string]int, cols []int) chart {
	typ := res.Columns[cols[0]].Type
	var lines []line
	var titles []string
	for _, ci := range cols {
		name := label(lang, res.Columns[ci].Name, res.Columns[ci].Label)
		titles = append(titles, name)
		ys := make([]*float64, len(days))
		for _, row := range res.Rows {
			di, ok := at[fmt.Sprint(row[0])]
			if !ok {
				continue
			}
			if v, ok := value(row, ci); ok {
				ys[di] = &v
			}
		}
		lines = append(lines, line{name, ys})
	}
	sep := "、"
	if lang == langEN {
		sep = ", "
	}
	c := chart{Kind: "line", Title: strings.Join(titles, sep)}
	layoutLines(lang, &c, typ, days, lines)
	return c
}

type line struct {
	name string
	ys   []*float64 // per day; nil where there is no value
}

// layoutLines computes the axes and the paths of a line chart.
func layoutLines(lang string, c *chart, typ string, days []string, lines []line) {
	c.Width, c.Height = lineW, lineH
	c.Left, c.Right, c.Top, c.Bottom = 56, lineW-16, 12, lineH-28
	lo, hi := 0.0, 0.0
	for _, l := range lines {
		for _, y := range l.ys {
			if y != nil {
				lo, hi = min(lo, *y), max(hi, *y)
			}
		}
	}
	lo, hi, stepSize := niceScale(lo, hi, 5)
	yOf := func(v float64) float64 { return c.Bottom - (v-lo)/(hi-lo)*(c.Bottom-c.Top) }
	xOf := func(i int) float64 {
		if len(days) == 1 {
			return (c.Left + c.Right) / 2
		}
		return c.Left + float64(i)/float64(len(days)-1)*(c.Right-c.Left)
	}
	for v := lo; v <= hi+stepSize/2; v += stepSize {
		c.YTicks = append(c.YTicks, tick{yOf(v), axisLabel(lang, typ, roundTo(v, stepSize))})
	}
	// About eight day labels fit; show every k-th, always the last.
	every := max(1, int(math.Ceil(float64(len(days))/8)))
	for i, d := range days {
		if i%every == 0 || i == len(days)-1 {
			if i != len(days)-1 && len(days)-1-i < every/2+1 && i != 0 {
				continue // too close to the last label
			}
			c.XTicks = append(c.XTicks, tick{xOf(i), shortDay(d)})
		}
	}
	for si, l := range lines {
		s := series{Name: l.name, Color: palette[si%len(palette)]}
		var path strings.Builder
		pen := false
		for i, y := range l.ys {
			if y == nil {
				pen = false
				continue
			}
			x, py := xOf(i), yOf(*y)
			if pen {
				path.WriteString(" L")
			} else {
				if path.Len() > 0 {
					path.WriteByte(' ')
				}
				path.WriteString("M")
			}
			path.WriteString(coord(x) + " " + coord(py))
			pen = true
			s.Dots = append(s.Dots, dot{x, py, l.name + " · " + days[i] + ": " + cell(lang, typ, *y)})
		}
		s.Path = path.String()
		c.Series = append(c.Series, s)
	}
}

func coord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func shortDay(d string) string {
	if len(d) == 10 && d[4] == '-' {
		return d[5:]
	}
	return d
}

// niceScale widens [lo, hi] to round tick values, about n ticks apart.
func niceScale(lo, hi float64, n int) (float64, float64, float64) {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	var step float64
	switch f := raw / mag; {
	case f <= 1:
		step = mag
	case f <= 2:
		step = 2 * mag
	case f <= 2.5:
		step = 2.5 * mag
	case f <= 5:
		step = 5 * mag
	default:
		step = 10 * mag
	}
	return math.Floor(lo/step) * step, math.Ceil(hi/step) * step, step
}

// roundTo removes float noise from a tick value (0.30000000000000004).
func roundTo(v, step float64) float64 {
	digits := max(0, -int(math.Floor(math.Log10(step)))+1)
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// barChart ranks the rows by one numeric column, largest first; the other
// non-numeric columns name each bar.
func barChart(lang string, res *analysis.Result, by int) chart {
	typ := res.Columns[by].Type
	type item struct {
		label string
		v     float64
	}
	var items []item
	for _, row := range res.Rows {
		v, ok := value(row, by)
		if !ok {
			continue
		}
		var parts []string
		for ci, c := range res.Columns {
			if !numeric(c.Type) {
				parts = append(parts, text(lang, res, row, ci))
			}
		}
		items = append(items, item{strings.Join(parts, " · "), v})
	}
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(b.v, a.v) })
	c := chart{Kind: "bar", Title: label(lang, res.Columns[by].Name, res.Columns[by].Label), Width: chartW,
		LabelX: barLabelW - 8, BarX: barLabelW}
	if len(items) > maxBars {
		c.Note = fmt.Sprintf(t(lang, "top_n"), maxBars)
		items = items[:maxBars]
	}
	top := 0.0
	for _, it := range items {
		top = max(top, math.Abs(it.v))
	}
	room := chartW - barLabelW - barValueW
	for i, it := range items {
		w := 0.0
		if top > 0 {
			w = math.Abs(it.v) / top * room
		}
		c.Bars = append(c.Bars, bar{
			Y: float64(i) * barRowH, W: max(w, 1), Label: ellipsis(it.label, 30),
			Value: cell(lang, typ, it.v), Color: palette[0],
		})
	}
	c.Height = float64(len(items)) * barRowH
	return c
}

// barChoice picks the column a ranking is drawn by: the one asked for, else
// the first numeric one.
func barChoice(res *analysis.Result, asked string) int {
	if i := colIndex(res, asked); i >= 0 && numeric(res.Columns[i].Type) {
		return i
	}
	return slices.IndexFunc(res.Columns, func(c analysis.Column) bool { return numeric(c.Type) })
}

// funnelCharts draws the funnel analysis: its rows are the steps in order,
// named by the "step" column (else the last non-numeric one) and measured
// by "users" (else the first int column). Other non-numeric columns (the
// ?by= group) split the rows into one funnel per group.
func funnelCharts(lang string, res *analysis.Result) []chart {
	stepCol := colIndex(res, "step")
	if stepCol < 0 {
		for i, c := range res.Columns {
			if !numeric(c.Type) {
				stepCol = i
			}
		}
	}
	valCol := colIndex(res, "users")
	if valCol < 0 || !numeric(res.Columns[valCol].Type) {
		valCol = slices.IndexFunc(res.Columns, func(c analysis.Column) bool { return c.Type == "int" })
	}
	if stepCol < 0 || valCol < 0 {
		return nil
	}
	var groups []string
	rows := map[string][][]any{}
	for _, row := range res.Rows {
		var parts []string
		for ci, c := range res.Columns {
			if ci != stepCol && !numeric(c.Type) {
				parts = append(parts, text(lang, res, row, ci))
			}
		}
		g := strings.Join(parts, " · ")
		if _, seen := rows[g]; !seen {
			groups = append(groups, g)
		}
		rows[g] = append(rows[g], row)
	}
	var out []chart
	for gi, g := range groups {
		if gi == maxFunnels {
			out[len(out)-1].Note = fmt.Sprintf(t(lang, "top_n"), maxFunnels)
			break
		}
		title := analysisLabel(lang, "funnel")
		if g != "" {
			title += " · " + g
		}
		c := chart{Kind: "funnel", Title: title, Width: chartW, LabelX: funnelLabelW - 8, TextX: chartW - funnelTextW + 8}
		first, prev := math.NaN(), math.NaN()
		top := 0.0
		for _, row := range rows[g] {
			if v, ok := value(row, valCol); ok {
				top = max(top, v)
			}
		}
		room := chartW - funnelLabelW - funnelTextW
		for i, row := range rows[g] {
			v, _ := value(row, valCol)
			w := 2.0
			if top > 0 {
				w = max(2, v/top*room)
			}
			s := step{
				Y: float64(i) * funnelRowH, X: funnelLabelW + (room-w)/2, W: w,
				Label: ellipsis(stepName(lang, text(lang, res, row, stepCol)), 24),
				Value: cell(lang, res.Columns[valCol].Type, v), Color: palette[0],
			}
			if i > 0 {
				prevW, firstW := t(lang, "step_of_prev"), t(lang, "step_of_first")
				if lang == langEN {
					s.Conv = percent(v, prev) + " " + prevW + " · " + percent(v, first) + " " + firstW
				} else {
					s.Conv = prevW + " " + percent(v, prev) + " · " + firstW + " " + percent(v, first)
				}
			} else {
				first = v
			}
			prev = v
			c.Steps = append(c.Steps, s)
		}
		c.Height = float64(len(c.Steps)) * funnelRowH
		out = append(out, c)
	}
	return out
}

// stepName labels a funnel step such as "custom_order:payed" or
// "add_to_cart" with the words of the label table where it has them.
func stepName(lang, s string) string {
	typ, status, _ := strings.Cut(s, ":")
	name := word(lang, behaviourLabels, typ)
	if status != "" {
		if lang == langEN {
			name += " (" + word(lang, statusLabels, status) + ")"
		} else {
			name += "（" + word(lang, statusLabels, status) + "）"
		}
	}
	return name
}

// word looks s up in a two-language table, or shows it as it is.
func word(lang string, table map[string][2]string, s string) string {
	w, ok := table[s]
	if !ok {
		return s
	}
	if lang == langEN {
		return w[1]
	}
	return w[0]
}

var statusLabels = map[string][2]string{
	"give_order":        {"下单", "placed"},
	"pay":               {"支付中", "paying"},
	"payed":             {"已支付", "paid"},
	"cancel_pay":        {"取消支付", "payment cancelled"},
	"cancel_give_order": {"取消下单", "cancelled"},
	"refund":            {"退款", "refunded"},
}

var behaviourLabels = map[string][2]string{
	"app_launch":             {"启动", "Launch"},
	"app_show":               {"进入", "Show"},
	"browse_wxapp_page":      {"浏览页面", "Page view"},
	"search":                 {"搜索", "Search"},
	"expose_sku_component":   {"商品曝光", "SKU exposure"},
	"trigger_sku_component":  {"商品点击", "SKU click"},
	"browse_sku_page":        {"浏览商品", "Product view"},
	"add_to_cart":            {"加购", "Add to cart"},
	"custom_order":           {"订单", "Order"},
	"page_share_app_message": {"分享", "Share"},
}

func percent(v, of float64) string {
	if of == 0 || math.IsNaN(of) {
		return empty
	}
	return strconv.FormatFloat(v/of*100, 'f', 1, 64) + "%"
}

// ellipsis shortens s to n characters (not bytes: names are often Chinese).
func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
