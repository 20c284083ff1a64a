package web

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
)

// The charts of rankings, the funnel and retention (charts.go has the
// model and the per-day charts).

// rankingCharts draw a ranking (SKUs, keywords, guides, rooms, stores,
// channels, official-account groups) as horizontal bars by the chosen
// figure, the "none" bucket left out of the bars and named in the note.
// Channels get one chart per dimension.
func rankingCharts(lang, name string, res *analysis.Result, pal *colors, chartCol string) []chartSpec {
	by := barChoice(res, chartCol)
	if by < 0 {
		return nil
	}
	if dim := colIndex(res, "dimension"); dim >= 0 {
		var out []chartSpec
		var dims []string
		parts := map[string][][]any{}
		for _, row := range res.Rows {
			d := fmt.Sprint(row[dim])
			if _, ok := parts[d]; !ok {
				dims = append(dims, d)
			}
			parts[d] = append(parts[d], row)
		}
		for _, d := range dims {
			sub := *res
			sub.Rows = parts[d]
			c := barChart(lang, &sub, by, pal)
			if len(c.X) == 0 {
				continue // only the none bucket: nothing to rank
			}
			dl, _ := displayValue(lang, res, parts[d][0], dim)
			c.Title = dl + " · " + c.Title
			out = append(out, c)
		}
		return out
	}
	if c := barChart(lang, res, by, pal); len(c.X) > 0 {
		return []chartSpec{c}
	}
	return nil
}

// barChoice is the figure a ranking is drawn by: ?chart= if it names a
// numeric column, else the first numeric column; -1 when there is none.
func barChoice(res *analysis.Result, asked string) int {
	first := -1
	for i, c := range res.Columns {
		if !numeric(c.Type) {
			continue
		}
		if c.Name == asked {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

func barChart(lang string, res *analysis.Result, by int, pal *colors) chartSpec {
	col := res.Columns[by]
	type item struct {
		label string
		v     float64
		none  bool
	}
	var items, nones []item
	for _, row := range res.Rows {
		f, ok := value(row, by)
		if !ok {
			continue
		}
		l, none := rowLabel(lang, res, row)
		if none {
			nones = append(nones, item{l, f, true})
			continue
		}
		items = append(items, item{l, f, false})
	}
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(b.v, a.v) })
	c := chartSpec{Kind: "bar", Unit: col.Type, Title: colLabel(lang, res.Analysis, col.Name, col.Label)}
	if len(items) > maxBars {
		c.Note = fmt.Sprintf(t(lang, "top_n"), maxBars)
		items = items[:maxBars]
	}
	var notes []string
	for _, n := range nones {
		notes = append(notes, n.label+t(lang, "colon")+cell(lang, col.Type, n.v))
	}
	if len(notes) > 0 {
		if c.Note != "" {
			c.Note += t(lang, "list_sep")
		}
		c.Note += strings.Join(notes, t(lang, "list_sep"))
	}
	data := make([]*float64, len(items))
	for i, it := range items {
		c.X = append(c.X, it.label)
		data[i] = ptr(it.v)
	}
	c.Series = []seriesSpec{{Name: c.Title, Color: pal.of(col.Name), Data: data}}
	return c
}

// rowLabel names a ranking's row by its string columns (id · name), and
// tells whether it is the "none" bucket (its key column empty).
func rowLabel(lang string, res *analysis.Result, row []any) (string, bool) {
	var parts []string
	none := false
	for i, c := range res.Columns {
		if c.Type != "string" || c.Name == "dimension" {
			continue
		}
		s, isNone := displayValue(lang, res, row, i)
		if isNone {
			if len(parts) == 0 {
				none = true
				parts = append(parts, s)
			}
			continue
		}
		if s == empty || slices.Contains(parts, s) {
			continue
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return empty, none
	}
	return ellipsis(strings.Join(parts, " · "), 40), none
}

// funnelCharts draw the funnel: without ?by= one chart of bars
// proportional to each step's users with the drop-off from the step before;
// with ?by= one compact chart of grouped bars (a group per value, a bar per
// step), the largest groups first and the "none" group last.
func funnelCharts(lang string, res *analysis.Result, pal *colors) []chartSpec {
	stepCol, nameCol, usersCol := colIndex(res, "step"), colIndex(res, "name"), colIndex(res, "users")
	if usersCol < 0 {
		return nil
	}
	group := -1
	if res.Columns[0].Type == "string" && res.Columns[0].Name != "name" {
		group = 0
	}
	var steps []string
	stepAt := map[string]int{}
	for _, row := range res.Rows {
		key := fmt.Sprint(row[stepCol])
		if _, ok := stepAt[key]; !ok {
			stepAt[key] = len(steps)
			s := key
			if nameCol >= 0 {
				s, _ = displayValue(lang, res, row, nameCol)
			}
			steps = append(steps, s)
		}
	}
	if group < 0 {
		data := make([]*float64, len(steps))
		for _, row := range res.Rows {
			if f, ok := value(row, usersCol); ok {
				data[stepAt[fmt.Sprint(row[stepCol])]] = ptr(f)
			}
		}
		return []chartSpec{{
			Kind: "funnel", Unit: "int", Title: t(lang, "funnel_title"), X: steps,
			Series: []seriesSpec{{Name: label(lang, "users", ""), Color: palette[0], Data: data}},
		}}
	}
	type grp struct {
		key, label string
		none       bool
		users      []*float64
		first      float64
	}
	var groups []*grp
	byKey := map[string]*grp{}
	for _, row := range res.Rows {
		key := fmt.Sprint(row[group])
		if row[group] == nil {
			key = ""
		}
		g, ok := byKey[key]
		if !ok {
			l, none := displayValue(lang, res, row, group)
			g = &grp{key: key, label: l, none: none, users: make([]*float64, len(steps))}
			byKey[key] = g
			groups = append(groups, g)
		}
		if f, ok := value(row, usersCol); ok {
			i := stepAt[fmt.Sprint(row[stepCol])]
			g.users[i] = ptr(f)
			if i == 0 {
				g.first = f
			}
		}
	}
	slices.SortStableFunc(groups, func(a, b *grp) int {
		if a.none != b.none {
			if a.none {
				return 1
			}
			return -1
		}
		return cmp.Compare(b.first, a.first)
	})
	c := chartSpec{Kind: "grouped", Unit: "int", Title: t(lang, "funnel_by_title")}
	var shown []*grp
	values := 0 // groups with a value, the none group apart
	for _, g := range groups {
		if !g.none {
			values++
			if values > maxGroups {
				continue
			}
		}
		shown = append(shown, g)
	}
	if values > maxGroups {
		c.Note = fmt.Sprintf(t(lang, "top_n"), maxGroups)
	}
	for _, g := range shown {
		c.X = append(c.X, g.label)
	}
	for si, s := range steps {
		data := make([]*float64, len(shown))
		for gi, g := range shown {
			data[gi] = g.users[si]
		}
		c.Series = append(c.Series, seriesSpec{Name: s, Color: pal.of("step" + fmt.Sprint(si)), Data: data})
	}
	return []chartSpec{c}
}

// retentionCharts draw one line per first-visit day over the days after
// it; days that have not come yet are gaps, not zeros.
func retentionCharts(lang string, res *analysis.Result, pal *colors) []chartSpec {
	var offsets []int
	for i, c := range res.Columns {
		if c.Type == "ratio" {
			offsets = append(offsets, i)
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	c := chartSpec{Kind: "line", Unit: "ratio", Title: t(lang, "retention_title")}
	for _, i := range offsets {
		c.X = append(c.X, label(lang, res.Columns[i].Name, ""))
	}
	rows := res.Rows
	if len(rows) > maxRetention {
		c.Note = fmt.Sprintf(t(lang, "last_n_cohorts"), maxRetention)
		rows = rows[len(rows)-maxRetention:]
	}
	for _, row := range rows {
		data := make([]*float64, len(offsets))
		for j, i := range offsets {
			if f, ok := value(row, i); ok {
				data[j] = ptr(f)
			}
		}
		day := fmt.Sprint(row[0])
		c.Series = append(c.Series, seriesSpec{Name: day, Color: pal.of(day), Data: data})
	}
	return []chartSpec{c}
}

// ellipsis shortens s to n characters (not bytes: names are often Chinese).
func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
