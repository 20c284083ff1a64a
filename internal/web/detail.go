package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// The detail page of a ranking's row (a guide, live room, store, ad, SKU or
// article): its figures day by day and its funnel, over the page's range.
// The analyses answer per range, not per key, so the daily figures are the
// analysis asked once per day and the key's row picked out (the ads
// analysis is per day already); the funnel is the funnel analysis grouped
// by the key's dimension, or for a SKU a funnel of its own steps.

// maxDetailDays bounds the days a detail page asks one by one.
const maxDetailDays = 31

// maxKeyLen bounds ?id=.
const maxKeyLen = 256

// detailFunnelBy is the funnel's ?by= for a detail page's key.
var detailFunnelBy = map[string]string{"guides": "guide_id", "live": "room_id", "stores": "store_id", "ads": "ad_id"}

// detailTitles name what a detail page is about.
var detailTitles = map[string][2]string{
	"guides": {"导购", "Guide"}, "live": {"直播间", "Live room"}, "stores": {"门店", "Store"},
	"ads": {"广告", "Ad"}, "skus": {"商品", "Product"}, "official-account": {"公众号文章", "Article"},
}

// detail is GET /apps/{app}/{name}/detail?id=&from=&to=.
func (d *dashboard) detail(w http.ResponseWriter, r *http.Request, vis visitor) {
	app, ok := d.srv.Tenants.ByID(r.PathValue("app"))
	if !ok {
		d.notFound(w, r, vis, t(vis.lang, "unknown_app")+r.PathValue("app"))
		return
	}
	name := r.PathValue("page")
	keyCol, ok := detailKeys[name]
	if !ok {
		d.notFound(w, r, vis, t(vis.lang, "unknown_name")+name)
		return
	}
	qs := r.URL.Query()
	id := qs.Get("id")
	from, to := d.dateRange(app, qs)
	v := d.frame(r, vis, app)
	v.Analysis = name
	v.Title, v.TitleData = pick(vis.lang, detailTitles[name]), id
	v.Description = t(vis.lang, "detail_desc")
	v.Path = pagePath(app.ID, name) + "/detail"
	v.From, v.To = from, to
	v.Hidden = []field{{Name: "id", Value: id}}
	v.navigate(d.srv.Tenants.Apps(), app, name, from, to, url.Values{})
	v.CSV = ""
	v.Back = &link{Label: fmt.Sprintf(t(vis.lang, "back_to"), analysisLabel(vis.lang, name)),
		URL: pagePath(app.ID, name) + "?" + url.Values{"from": {from}, "to": {to}}.Encode()}
	v.Presets = d.presets(app, vis.lang, v.Path, from, to, url.Values{"id": {id}})
	if id == "" || len(id) > maxKeyLen {
		v.Error = t(vis.lang, "bad_request") + badRequest(vis.lang, "id", fmt.Sprintf("required, at most %d characters", maxKeyLen))
		d.render(w, http.StatusBadRequest, "analysis", v)
		return
	}
	if _, err := analysis.ParseQuery(app, from, to, nil); err != nil {
		d.failed(w, r, v, name, err)
		return
	}
	// The last maxDetailDays days of a longer range.
	first, _ := time.ParseInLocation(time.DateOnly, from, app.Location)
	last, _ := time.ParseInLocation(time.DateOnly, to, app.Location)
	if days := int(last.Sub(first).Hours()/24+0.5) + 1; days > maxDetailDays {
		first = last.AddDate(0, 0, -(maxDetailDays - 1))
		v.Partial = fmt.Sprintf(t(vis.lang, "detail_cut"), maxDetailDays)
	}
	partial := d.partial(app, to)
	if partial {
		note := fmt.Sprintf(t(vis.lang, "partial_note"), d.now().In(app.Location).Format("15:04"))
		if v.Partial != "" {
			v.Partial += " "
		}
		v.Partial += note
	}

	daily, err := d.dailyOf(r.Context(), app, name, keyCol, id, first, last)
	if err != nil {
		d.failed(w, r, v, name, err)
		return
	}
	v.Table = newTable(vis.lang, "detail", daily, nil)
	charts := dayCharts(vis.lang, "detail", daily, newColors(), partial)

	sec := section{Title: t(vis.lang, "funnel_title")}
	funnel, err := d.funnelOf(r.Context(), app, name, id, first.Format(time.DateOnly), to)
	switch {
	case err != nil:
		d.failed(w, r, v, "funnel", err)
		return
	case funnel == nil:
		sec.Empty = t(vis.lang, "no_article_funnel")
	case len(funnel.Rows) == 0:
		sec.Empty = emptyState(vis.lang, "default")
	default:
		sec.Table = newTable(vis.lang, "funnel", funnel, nil)
		sec.Table.IDLess = true
		charts = append(charts, funnelCharts(vis.lang, funnel, newColors())...)
	}
	for i := range charts {
		charts[i].ID = "chart" + strconv.Itoa(i+1)
	}
	v.Charts = newChartPage(vis.lang, charts)
	v.Sections = []section{sec}
	d.render(w, http.StatusOK, "analysis", v)
}

// dailyOf is the key's row of the analysis on each day from first to last,
// with the day in front; a day without the key's row has no activity: 0 for
// counts and money, nothing for ratios and durations.
func (d *dashboard) dailyOf(ctx context.Context, app *tenant.App, name, keyCol, id string, first, last time.Time) (*analysis.Result, error) {
	from, to := first.Format(time.DateOnly), last.Format(time.DateOnly)
	out := &analysis.Result{Analysis: name, App: app.ID, From: from, To: to, Timezone: app.Location.String(), Rows: [][]any{}}
	// The figures of the key: the numeric columns.
	pick := func(res *analysis.Result) []int {
		var cols []int
		for i, c := range res.Columns {
			if numeric(c.Type) {
				cols = append(cols, i)
			}
		}
		return cols
	}
	if name == "ads" { // per day already
		res, err := d.ask(ctx, app, name, from, to, nil)
		if err != nil {
			return nil, err
		}
		cols := pick(res)
		out.Columns = append([]analysis.Column{{Name: "day", Type: "day"}}, columnsOf(res, cols)...)
		k := colIndex(res, keyCol)
		for _, row := range res.Rows {
			if fmt.Sprint(row[k]) == id {
				out.Rows = append(out.Rows, append([]any{row[0]}, valuesOf(row, cols)...))
			}
		}
		return out, nil
	}
	params := url.Values{}
	if name == "skus" {
		params.Set("limit", "10000") // every SKU, not the top 100
	}
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		ds := day.Format(time.DateOnly)
		res, err := d.ask(ctx, app, name, ds, ds, params)
		if err != nil {
			return nil, err
		}
		cols := pick(res)
		if out.Columns == nil {
			out.Columns = append([]analysis.Column{{Name: "day", Type: "day"}}, columnsOf(res, cols)...)
		}
		k, group := colIndex(res, keyCol), colIndex(res, "group")
		var found []any
		for _, row := range res.Rows {
			if fmt.Sprint(row[k]) == id && (group < 0 || fmt.Sprint(row[group]) == "article") {
				found = valuesOf(row, cols)
				break
			}
		}
		if found == nil {
			for _, i := range cols {
				switch res.Columns[i].Type {
				case "int", "fen":
					found = append(found, int64(0))
				default:
					found = append(found, nil)
				}
			}
		}
		out.Rows = append(out.Rows, append([]any{ds}, found...))
	}
	return out, nil
}

func columnsOf(res *analysis.Result, cols []int) []analysis.Column {
	var out []analysis.Column
	for _, i := range cols {
		out = append(out, res.Columns[i])
	}
	return out
}

func valuesOf(row []any, cols []int) []any {
	out := make([]any, 0, len(cols))
	for _, i := range cols {
		out = append(out, row[i])
	}
	return out
}

// funnelOf is the key's funnel over the range: the default path grouped by
// the key's dimension, the group's rows kept; for a SKU, exposure → click
// → detail view of that SKU. nil for an article, which the funnel cannot
// group by (nor a SKU id with a comma, which a step list cannot hold).
func (d *dashboard) funnelOf(ctx context.Context, app *tenant.App, name, id, from, to string) (*analysis.Result, error) {
	if name == "skus" {
		if strings.Contains(id, ",") { // a step list cannot name it
			return nil, nil
		}
		steps := "expose_sku_component:" + id + ",trigger_sku_component:" + id + ",browse_sku_page:" + id
		return d.ask(ctx, app, "funnel", from, to, url.Values{"steps": {steps}})
	}
	by, ok := detailFunnelBy[name]
	if !ok {
		return nil, nil
	}
	res, err := d.ask(ctx, app, "funnel", from, to, url.Values{"by": {by}})
	if err != nil {
		return nil, err
	}
	out := *res
	out.Columns = res.Columns[1:]
	out.Rows = [][]any{}
	for _, row := range res.Rows {
		if row[0] != nil && fmt.Sprint(row[0]) == id {
			out.Rows = append(out.Rows, row[1:])
		}
	}
	return &out, nil
}
