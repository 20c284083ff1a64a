package web

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
)

// table is a Result formatted for reading: labelled headers, cells as a
// merchant reads them (yuan, percentages, durations, names for codes), a
// totals row where a total means something, and links from a row to its
// detail.
type table struct {
	Head  []head
	Rows  []tableRow
	Total []td   // nil: no totals row
	Note  string // rows cut, or what the total covers
	// IDLess is a page's further table: the tests and the script find
	// the main one by its id.
	IDLess bool
}

type head struct {
	Name, Label, Type string
	Num               bool
}

type tableRow struct {
	Cells []td
	// None is the row of visits or orders that carried no value of the
	// key (no guide, no ad id, ...): shown apart.
	None bool
}

type td struct {
	Col  string // column name
	Head string // the column's label, for the stacked layout of narrow screens
	Text string
	// Raw is the value as the API gives it, when Text names it otherwise
	// (a scene's name, a behaviour's name, "no guide" for NULL).
	Raw    string
	HasRaw bool
	// Data marks text that is the merchant's own data (an id, a product
	// name, a keyword): translate="no", and no language check applies.
	Data bool
	// DataSuffix follows Text as data: a funnel step's qualifier.
	DataSuffix string
	Num        bool
	Sort       string // the number behind Text, for sorting
	Heat       string // class h0…h9 shading ratios, so retention reads as a heat map
	Link       string // the row's detail page
}

// maxTableRows bounds the rows a page renders; the CSV has them all.
const maxTableRows = 1000

// noTotals are the analyses whose rows overlap (a visitor is in several
// channel dimensions, official-account groups or funnel steps), so no sum
// of them is a total.
var noTotals = map[string]bool{"channels": true, "funnel": true, "retention": true, "official-account": true, "totals": true,
	"articles": true}

// additiveCols are the figures whose sum over rows is the figure of the
// rows together: counts of events, orders and money. People are not
// (the same visitor is in several rows), nor ratios and averages, which
// totalRatios recompute from sums where they can.
var additiveCols = map[string]bool{
	"events": true, "sessions": true, "page_views": true, "stay_ms": true,
	"orders": true, "paid_orders": true, "gmv_fen": true, "refunds": true, "refund_fen": true,
	"exposures": true, "clicks": true, "detail_views": true, "cart_units": true, "paid_units": true,
	"searches": true, "searches_clicked": true, "shares": true, "cart_adds": true,
	"reported": true, "pending": true, "dead": true,
	"sum_orders": true, "sum_order_fen": true, "sum_paid": true, "sum_paid_fen": true,
	"order_fen": true, "paid": true, "paid_fen": true,
	"sdk_orders": true, "sdk_order_fen": true, "sdk_paid": true, "sdk_paid_fen": true,
	"diff_orders": true, "diff_order_fen": true, "diff_paid": true, "diff_paid_fen": true,
	"sdk_diff_orders": true, "sdk_diff_order_fen": true, "sdk_diff_paid": true, "sdk_diff_paid_fen": true,
	"wx_pv": true, "wx_entry_pv": true, "wx_exit_pv": true, "wx_share_pv": true, "sdk_pv": true, "diff_pv": true,
	"pulled_pv":   true,
	"wx_sessions": true, "diff_sessions": true, "wx_page_views": true, "diff_page_views": true,
}

// totalRatios are figures recomputed for the totals row: name → numerator,
// denominator.
var totalRatios = map[string][2]string{
	"avg_order_fen": {"gmv_fen", "paid_orders"},
	"ctr":           {"clicks", "exposures"},
	"click_rate":    {"searches_clicked", "searches"},
}

// detailKeys are the columns whose rows link to a detail page: the
// analysis's key, and for official-account the article rows' value.
var detailKeys = map[string]string{
	"guides": "guide_id", "live": "room_id", "stores": "store_id",
	"ads": "ad_id", "skus": "sku_id", "official-account": "value",
}

// pageLink says where a row's detail is; nil for no links.
type pageLink func(key string) string

func newTable(lang, name string, res *analysis.Result, link pageLink) *table {
	tb := &table{}
	for _, c := range res.Columns {
		tb.Head = append(tb.Head, head{c.Name, colLabel(lang, res.Analysis, c.Name, c.Label), c.Type, numeric(c.Type)})
	}
	rows := res.Rows
	if len(rows) > maxTableRows {
		tb.Note = fmt.Sprintf(t(lang, "rows_cut"), maxTableRows, len(rows))
		rows = rows[:maxTableRows]
	}
	keyCol := -1
	if k, ok := detailKeys[name]; ok && link != nil {
		keyCol = colIndex(res, k)
	}
	group := colIndex(res, "group")
	// The key of a row is its first string column besides a grouping:
	// empty, the row is the "none" bucket.
	key := slices.IndexFunc(res.Columns, func(c analysis.Column) bool {
		return c.Type == "string" && c.Name != "dimension" && c.Name != "group"
	})
	for _, row := range rows {
		tr := tableRow{Cells: make([]td, len(res.Columns))}
		for i, c := range res.Columns {
			var v any
			if i < len(row) {
				v = row[i]
			}
			cl := td{Col: c.Name, Head: tb.Head[i].Label, Num: numeric(c.Type)}
			if c.Type == "string" {
				text, none := displayValue(lang, res, row, i)
				raw := ""
				if v != nil {
					raw = fmt.Sprint(v)
				}
				cl.Text = text
				if c.Name == "name" && v != nil {
					cl.Text, cl.DataSuffix = behaviourParts(lang, raw)
				}
				if text != raw {
					cl.Raw, cl.HasRaw = raw, true
				} else {
					cl.Data = true
				}
				if none && i == key {
					tr.None = true
				}
				if i == keyCol && !none && (name != "official-account" || (group >= 0 && fmt.Sprint(row[group]) == "article")) {
					cl.Link = link(raw)
				}
			} else {
				cl.Text = cell(lang, c.Type, v)
			}
			if f, ok := number(v); ok && c.Type != "string" && c.Type != "day" {
				cl.Sort = strconv.FormatFloat(f, 'f', -1, 64)
				if c.Type == "ratio" {
					cl.Heat = "h" + strconv.Itoa(int(math.Round(min(max(f, 0), 1)*9)))
				}
			}
			tr.Cells[i] = cl
		}
		tb.Rows = append(tb.Rows, tr)
	}
	if !noTotals[name] && len(res.Rows) > 1 {
		tb.Total = totals(lang, res)
		if tb.Total != nil && len(res.Rows) > maxTableRows {
			tb.Note += " " + t(lang, "total_all_rows")
		}
	}
	return tb
}

// totals is the totals row: sums of the additive figures over every row
// (not only those shown), ratios recomputed from those sums, and nothing
// for figures that do not add up. nil when no figure adds up.
func totals(lang string, res *analysis.Result) []td {
	sums := map[string]float64{}
	has := map[string]bool{}
	for i, c := range res.Columns {
		if !additiveCols[c.Name] {
			continue
		}
		for _, row := range res.Rows {
			if f, ok := value(row, i); ok {
				sums[c.Name] += f
				has[c.Name] = true
			}
		}
	}
	if len(has) == 0 {
		return nil
	}
	out := make([]td, len(res.Columns))
	labelled := false
	for i, c := range res.Columns {
		cl := td{Col: c.Name, Head: colLabel(lang, res.Analysis, c.Name, c.Label), Num: numeric(c.Type)}
		switch {
		case has[c.Name]:
			cl.Text = cell(lang, c.Type, sums[c.Name])
		case totalRatios[c.Name] != [2]string{}:
			r := totalRatios[c.Name]
			if has[r[0]] && has[r[1]] && sums[r[1]] != 0 {
				v := sums[r[0]] / sums[r[1]]
				if c.Type == "fen" {
					v = math.Round(v)
				}
				cl.Text = cell(lang, c.Type, v)
			}
		case !labelled && !numeric(c.Type):
			cl.Text = t(lang, "total")
			labelled = true
		}
		out[i] = cl
	}
	return out
}

// displayValue is how a string cell reads: a behaviour's name, a scene's
// name, a status in words, "no guide" for a missing key. none tells that
// the value is the missing one.
func displayValue(lang string, res *analysis.Result, row []any, i int) (string, bool) {
	if i < 0 || i >= len(row) {
		return empty, false
	}
	col := res.Columns[i].Name
	v := row[i]
	s := ""
	if v != nil {
		s = fmt.Sprint(v)
	}
	if s == "" {
		if w, ok := noneLabels[col]; ok {
			return pick(lang, w), true
		}
		if res.Analysis == "official-account" && col == "value" {
			return empty, false // the groups without a value (all users, the account as a whole)
		}
		return empty, true
	}
	switch col {
	case "type", "name":
		return behaviour(lang, s), false
	case "scene", "chan_wxapp_scene":
		return sceneName(lang, s), false
	case "value":
		// A channel's or an official-account group's value: a scene
		// when the row's dimension or group says so.
		for _, k := range []string{"dimension", "group"} {
			if j := colIndex(res, k); j >= 0 && j < len(row) && fmt.Sprint(row[j]) == "scene" {
				return sceneName(lang, s), false
			}
		}
		return s, false
	}
	if words, ok := valueLabels[col]; ok {
		if w, ok := words[s]; ok {
			return pick(lang, w), false
		}
	}
	return s, false
}

// detailURL is the detail page of a row's key.
func detailURL(app, name, from, to, key string) string {
	q := url.Values{"id": {key}, "from": {from}, "to": {to}}
	return pagePath(app, name) + "/detail?" + q.Encode()
}
