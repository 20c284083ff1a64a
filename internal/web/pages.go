package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// view is what every template renders.
type view struct {
	Lang        string
	User        string
	CSS, JS     string
	ECharts     string
	Apps        []link
	App         *tenant.App
	Nav         []link
	LangLinks   []link
	Analysis    string
	Path        string
	Title       string
	TitleData   string // the detail page's key, shown after Title as data
	Description string
	From, To    string
	Presets     []link
	Params      []field
	Hidden      []field
	Partial     string
	Status      []statusNote
	Cards       []card
	Table       *table
	Sections    []section
	Charts      *chartPage
	Choices     []choice
	CSV         string
	Empty       string
	Back        *link
	Error       string
	Next        string
	LoginName   string
}

// section is a further table of a page (the detail page's funnel).
type section struct {
	Title, Empty string
	Table        *table
}

// choice is one figure a ranking can be drawn by.
type choice struct {
	Label, URL string
	Current    bool
}

// AppLabel names the current app in the switcher.
func (v *view) AppLabel() string {
	if v.App == nil {
		return ""
	}
	if v.App.Name != "" {
		return v.App.Name
	}
	return v.App.ID
}

// T is a UI word in the page's language: {{.T "login"}}.
func (v *view) T(key string) string { return t(v.Lang, key) }

type link struct {
	Label, URL string
	Current    bool
}

// frame fills what every page shows: the user and the language links.
func (d *dashboard) frame(r *http.Request, vis visitor, app *tenant.App) *view {
	v := &view{Lang: vis.lang, User: vis.user, App: app, CSS: staticURL("style.css"),
		JS: staticURL("dashboard.js"), ECharts: staticURL("echarts.min.js")}
	if v.User == "admin" {
		v.User = t(vis.lang, "user_admin")
	}
	for _, l := range []struct{ code, name string }{{langZH, "中文"}, {langEN, "English"}} {
		q := r.URL.Query()
		q.Set("lang", l.code)
		v.LangLinks = append(v.LangLinks, link{l.name, r.URL.Path + "?" + q.Encode(), l.code == vis.lang})
	}
	return v
}

// hiddenFromNav are analyses the dashboard shows inside another page (the
// range totals are the overview's cards); their pages still answer.
var hiddenFromNav = map[string]bool{"totals": true}

// navigate fills the app switcher, the analyses' nav and the CSV link.
func (v *view) navigate(apps []*tenant.App, app *tenant.App, name, from, to string, params url.Values) {
	keep := url.Values{"from": {from}, "to": {to}}
	for _, a := range orderedAnalyses() {
		if hiddenFromNav[a.Name] {
			continue
		}
		v.Nav = append(v.Nav, link{analysisLabel(v.Lang, a.Name), pagePath(app.ID, a.Name) + "?" + keep.Encode(), a.Name == name})
	}
	// Another app keeps the analysis and the range, not app-specific params.
	for _, a := range apps {
		l := a.Name
		if l == "" {
			l = a.ID
		}
		v.Apps = append(v.Apps, link{l, pagePath(a.ID, name) + "?" + keep.Encode(), a.ID == app.ID})
	}
	all := url.Values{}
	for k, vs := range params {
		all[k] = vs
	}
	all.Set("from", from)
	all.Set("to", to)
	v.CSV = pagePath(app.ID, name) + ".csv?" + all.Encode()
}

// orderedAnalyses lists the analyses in the order a merchant reads them:
// the overview first, then the ones about people, goods, channels and
// money, then whatever else is registered, by name.
func orderedAnalyses() []analysis.Analysis {
	order := []string{"overview", "funnel", "retention", "skus", "search", "channels", "guides", "live",
		"stores", "official-account", "articles", "ads", "orders", "reconciliation", "pages", "wechat-visits", "events"}
	all := analysis.All()
	slices.SortStableFunc(all, func(a, b analysis.Analysis) int {
		ia, ib := slices.Index(order, a.Name), slices.Index(order, b.Name)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		return ia - ib
	})
	return all
}

// field is one input of an analysis's parameter form.
type field struct {
	Name, Label, Value, Placeholder string
	Options                         []option
}

type option struct {
	Value, Label string
	Selected     bool
}

// paramFields is the form of the parameters the analysis declares
// (analysis.Param), with a plain field for any other parameter in the URL,
// which is passed through too.
func paramFields(lang, name string, params url.Values) []field {
	var out []field
	known := map[string]bool{}
	a, _ := analysis.Get(name)
	for _, p := range a.Params {
		known[p.Name] = true
		f := field{Name: p.Name, Label: t(lang, "param_"+p.Name), Value: params.Get(p.Name), Placeholder: p.Default}
		if len(p.Options) > 0 {
			if f.Value == "" {
				f.Value = p.Default
			}
			opts := p.Options
			if p.Default == "" { // absent is a choice of its own
				opts = append([]string{""}, opts...)
			}
			for _, o := range opts {
				f.Options = append(f.Options, option{o, optionLabel(lang, p.Name, o), o == f.Value})
			}
		}
		if p.Name == "steps" && f.Value == "" {
			f.Placeholder = "" // the default path is named below the form
		}
		out = append(out, f)
	}
	var extra []string
	for k := range params {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		out = append(out, field{Name: k, Label: k, Value: params.Get(k)})
	}
	return out
}

// optionLabel names a value of a closed parameter: a dimension, a column
// to sort or group by.
func optionLabel(lang, param, o string) string {
	if o == "" {
		return t(lang, "param_none")
	}
	if w, ok := valueLabels["dimension"][o]; ok && param == "dimension" {
		return pick(lang, w)
	}
	if w, ok := fieldLabels[o]; ok {
		return pick(lang, w)
	}
	return label(lang, o, "")
}

// reserved are the query parameters of the dashboard itself, not passed to
// an analysis.
var reserved = map[string]bool{"from": true, "to": true, "lang": true, "chart": true, "format": true}

// ask runs an analysis as the JSON API would, with the range and params.
// A question the analysis refuses comes back as a *analysis.BadRequest.
func (d *dashboard) ask(ctx context.Context, app *tenant.App, name, from, to string, params url.Values) (*analysis.Result, error) {
	a, ok := analysis.Get(name)
	if !ok {
		return nil, fmt.Errorf("no analysis %q", name)
	}
	runParams := url.Values{"from": {from}, "to": {to}}
	for k, vs := range params {
		runParams[k] = vs
	}
	q, err := analysis.ParseQuery(app, from, to, runParams)
	if err != nil {
		return nil, err
	}
	return a.Run(ctx, d.srv.Store, q)
}

// failed puts an analysis's error on the page: a question's mistake in the
// page's language (400), anything else as a request id to quote (503).
func (d *dashboard) failed(w http.ResponseWriter, r *http.Request, v *view, name string, err error) {
	if bad, ok := errors.AsType[*analysis.BadRequest](err); ok {
		v.Error = t(v.Lang, "bad_request") + badRequest(v.Lang, bad.Field, bad.Rule)
		d.render(w, http.StatusBadRequest, "analysis", v)
		return
	}
	id := server.RequestID(r.Context())
	d.log.Error("dashboard analysis failed", "request_id", id, "analysis", name, "app", v.App.ID, "error", err)
	v.Error = t(v.Lang, "failed") + id
	d.render(w, http.StatusServiceUnavailable, "analysis", v)
}

// page is GET /apps/{app}/{name} (the page) and /apps/{app}/{name}.csv
// (its CSV export).
func (d *dashboard) page(w http.ResponseWriter, r *http.Request, vis visitor) {
	app, ok := d.srv.Tenants.ByID(r.PathValue("app"))
	if !ok {
		d.notFound(w, r, vis, t(vis.lang, "unknown_app")+r.PathValue("app"))
		return
	}
	name, asCSV := strings.CutSuffix(r.PathValue("page"), ".csv")
	if _, ok := analysis.Get(name); !ok {
		d.notFound(w, r, vis, t(vis.lang, "unknown_name")+name)
		return
	}
	qs := r.URL.Query()
	from, to := d.dateRange(app, qs)
	params := url.Values{}
	for k, vs := range qs {
		if !reserved[k] {
			params[k] = vs
		}
	}
	v := d.frame(r, vis, app)
	v.Analysis, v.Title, v.Description = name, analysisLabel(vis.lang, name), pick(vis.lang, descriptions[name])
	v.Path = pagePath(app.ID, name)
	v.From, v.To = from, to
	v.Params = paramFields(vis.lang, name, params)
	v.navigate(d.srv.Tenants.Apps(), app, name, from, to, params)
	v.Presets = d.presets(app, vis.lang, v.Path, from, to, params)
	partial := d.partial(app, to)
	if partial {
		v.Partial = fmt.Sprintf(t(vis.lang, "partial_note"), d.now().In(app.Location).Format("15:04"))
	}

	res, err := d.ask(r.Context(), app, name, from, to, params)
	if err != nil {
		d.failed(w, r, v, name, err)
		return
	}
	if asCSV {
		writeCSV(w, vis.lang, res)
		return
	}
	v.Table = newTable(vis.lang, name, res, func(key string) string { return detailURL(app.ID, name, from, to, key) })
	v.Charts = newChartPage(vis.lang, pageCharts(vis.lang, name, res, qs.Get("chart"), partial))
	if len(res.Rows) == 0 {
		v.Empty = emptyState(vis.lang, name)
	}
	if len(v.Charts.Charts) > 0 && v.Charts.Charts[0].Kind == "bar" {
		v.Choices = rankingChoices(vis.lang, res, barChoice(res, qs.Get("chart")), r.URL)
	}
	if name == "overview" {
		cards, err := d.cards(r.Context(), app, vis.lang, from, to)
		if err != nil {
			d.failed(w, r, v, "totals", err)
			return
		}
		v.Cards = cards
		if n := d.relayNote(r.Context(), app, vis.lang); n != nil {
			v.Status = append(v.Status, *n)
		}
		v.Status = append(v.Status, d.pullNotes(r.Context(), app, vis.lang)...)
	}
	d.render(w, http.StatusOK, "analysis", v)
}

func rankingChoices(lang string, res *analysis.Result, by int, u *url.URL) []choice {
	var out []choice
	for i, c := range res.Columns {
		if !numeric(c.Type) {
			continue
		}
		q := u.Query()
		q.Set("chart", c.Name)
		out = append(out, choice{colLabel(lang, res.Analysis, c.Name, c.Label), u.Path + "?" + q.Encode(), i == by})
	}
	return out
}

// dateRange reads from and to, defaulting to the last 7 days (today
// included) in the app's time zone.
func (d *dashboard) dateRange(app *tenant.App, qs url.Values) (string, string) {
	today := d.now().In(app.Location)
	from, to := qs.Get("from"), qs.Get("to")
	if to == "" {
		to = today.Format(time.DateOnly)
	}
	if from == "" {
		end, err := time.ParseInLocation(time.DateOnly, to, app.Location)
		if err != nil {
			end = today
		}
		from = end.AddDate(0, 0, -6).Format(time.DateOnly)
	}
	return from, to
}

// partial tells whether the range ends today (or later): its last day is
// still going.
func (d *dashboard) partial(app *tenant.App, to string) bool {
	return to >= d.now().In(app.Location).Format(time.DateOnly)
}

// presets are the usual ranges, each a link keeping the page's params.
func (d *dashboard) presets(app *tenant.App, lang, path, from, to string, params url.Values) []link {
	now := d.now().In(app.Location)
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	list := []struct{ key, from, to string }{
		{"preset_today", day(now), day(now)},
		{"preset_yesterday", day(now.AddDate(0, 0, -1)), day(now.AddDate(0, 0, -1))},
		{"preset_7d", day(now.AddDate(0, 0, -6)), day(now)},
		{"preset_30d", day(now.AddDate(0, 0, -29)), day(now)},
		{"preset_month", day(time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, app.Location)), day(now)},
	}
	var out []link
	for _, p := range list {
		q := url.Values{}
		for k, vs := range params {
			q[k] = vs
		}
		q.Set("from", p.from)
		q.Set("to", p.to)
		out = append(out, link{t(lang, p.key), path + "?" + q.Encode(), p.from == from && p.to == to})
	}
	return out
}

// card is one headline figure of the overview: the range's value and its
// change against the period of equal length before it.
type card struct {
	Col, Label   string
	Value, Prev  string
	Raw          string // the value as the totals API gives it
	Change       string
	Up, Down     bool
	PrevFrom, To string
}

// cardCols are the overview's headline figures, in order.
var cardCols = []string{"visitors", "new_visitors", "paying_users", "paid_orders", "gmv_fen", "avg_order_fen", "pay_conversion"}

// cards reads the range totals and those of the period before it.
func (d *dashboard) cards(ctx context.Context, app *tenant.App, lang, from, to string) ([]card, error) {
	f, err1 := time.ParseInLocation(time.DateOnly, from, app.Location)
	l, err2 := time.ParseInLocation(time.DateOnly, to, app.Location)
	if err1 != nil || err2 != nil {
		return nil, nil // the analysis has refused the range already
	}
	days := int(l.Sub(f).Hours()/24+0.5) + 1
	prevTo := f.AddDate(0, 0, -1)
	prevFrom := f.AddDate(0, 0, -days)
	cur, err := d.ask(ctx, app, "totals", from, to, nil)
	if err != nil {
		return nil, err
	}
	prev, err := d.ask(ctx, app, "totals", prevFrom.Format(time.DateOnly), prevTo.Format(time.DateOnly), nil)
	if err != nil {
		return nil, err
	}
	if len(cur.Rows) != 1 || len(prev.Rows) != 1 {
		return nil, fmt.Errorf("totals: %d and %d rows, want one each", len(cur.Rows), len(prev.Rows))
	}
	var out []card
	for _, name := range cardCols {
		i := colIndex(cur, name)
		if i < 0 {
			continue
		}
		typ := cur.Columns[i].Type
		c := card{Col: name, Label: label(lang, name, ""), Value: cell(lang, typ, cur.Rows[0][i]),
			Prev: cell(lang, typ, prev.Rows[0][i])}
		if cur.Rows[0][i] != nil {
			c.Raw = fmt.Sprint(cur.Rows[0][i])
		}
		c.Change, c.Up, c.Down = change(lang, typ, cur.Rows[0][i], prev.Rows[0][i])
		out = append(out, c)
	}
	return out, nil
}

// change words the move from prev to cur: a relative change for counts and
// money, a difference in percentage points for ratios.
func change(lang, typ string, cur, prev any) (string, bool, bool) {
	c, ok1 := number(cur)
	p, ok2 := number(prev)
	if !ok1 || !ok2 {
		return empty, false, false
	}
	if typ == "ratio" {
		pp := (c - p) * 100
		return signed(pp, 1) + t(lang, "pp"), pp > 0.05, pp < -0.05
	}
	if p == 0 {
		if c == 0 {
			return "0%", false, false
		}
		return t(lang, "new_value"), true, false
	}
	rel := (c - p) / p * 100
	return signed(rel, 1) + "%", rel > 0.05, rel < -0.05
}

func signed(f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if f > 0 && s != strconv.FormatFloat(0, 'f', prec, 64) {
		return "+" + s
	}
	if s == "-"+strconv.FormatFloat(0, 'f', prec, 64) {
		return s[1:]
	}
	return s
}

// jsonText is the charts' JSON for the page's <script type="application/json">
// element, which the page script reads with JSON.parse: no inline script.
// encoding/json writes <, > and & as \u escapes, so no text inside can
// end the element.
func jsonText(v any) (template.JS, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return template.JS(b), nil //nolint:gosec // JSON with <, >, & escaped
}
