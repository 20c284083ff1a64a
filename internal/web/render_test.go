package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

func TestCell(t *testing.T) {
	cases := []struct {
		lang, typ string
		v         any
		want      string
	}{
		{"zh", "int", int64(1234567), "1,234,567"},
		{"zh", "int", int64(-1234), "-1,234"},
		{"zh", "int", int64(999), "999"},
		{"zh", "int", json.Number("1000"), "1,000"},
		{"zh", "int", big.NewInt(12345), "12,345"},
		{"zh", "int", float64(7), "7"},
		{"zh", "fen", int64(123456), "¥1,234.56"},
		{"zh", "fen", int64(5), "¥0.05"},
		{"zh", "fen", int64(-250), "-¥2.50"},
		{"zh", "fen", int64(0), "¥0.00"},
		{"zh", "ratio", 0.1234, "12.3%"},
		{"zh", "ratio", 1.0, "100.0%"},
		{"zh", "ratio", 0.0, "0.0%"},
		{"en", "ms", int64(12345), "12.3 s"},
		{"zh", "ms", int64(1500), "1.5 秒"},
		{"en", "ms", float64(3_600_000), "1 h 0 min"},
		{"zh", "day", "2026-03-10", "2026-03-10"},
		{"zh", "string", "荔枝", "荔枝"},
		{"zh", "string", "", "–"},
		{"zh", "int", nil, "–"},
		{"zh", "fen", "not a number", "not a number"},
		{"zh", "ratio", 0.5, "50.0%"},
	}
	for _, tc := range cases {
		if got := cell(tc.lang, tc.typ, tc.v); got != tc.want {
			t.Errorf("cell(%s, %s, %#v) = %q, want %q", tc.lang, tc.typ, tc.v, got, tc.want)
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	cases := map[string]string{
		"":                              "zh",
		"en":                            "en",
		"en-US,en;q=0.9":                "en",
		"zh-CN,zh;q=0.9,en;q=0.8":       "zh",
		"zh-TW":                         "zh",
		"fr-FR,en;q=0.5,zh;q=0.8":       "zh",
		"fr-FR,en;q=0.9,zh;q=0.8":       "en",
		"de":                            "zh",
		"en;q=0,zh;q=0.1":               "zh",
		"EN-gb":                         "en",
		"en;q=abc, zh":                  "zh",
		",,,;;;q==":                     "zh",
		strings.Repeat("en;q=0.1,", 50): "en",
	}
	for h, want := range cases {
		if got := fromAcceptLanguage(h); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", h, got, want)
		}
	}
}

func TestLabels(t *testing.T) {
	if got := label("en", "gmv_fen", ""); got != "GMV" {
		t.Errorf("gmv_fen: %q", got)
	}
	if got := label("zh", "d7", ""); got != "第 7 日" {
		t.Errorf("d7: %q", got)
	}
	if got := label("en", "day_30", ""); got != "Day 30" {
		t.Errorf("day_30: %q", got)
	}
	if got := label("en", "brand_new_column", "Given label"); got != "Given label" {
		t.Errorf("an unknown column falls back to the analysis's label: %q", got)
	}
	if got := label("zh", "brand_new_column", ""); got != "brand_new_column" {
		t.Errorf("then to its name: %q", got)
	}
	if got := analysisLabel("zh", "official-account"); got != "公众号" {
		t.Errorf("official-account: %q", got)
	}
	// Every analysis that exists has a name in both languages.
	for _, a := range analysis.All() {
		if _, ok := analysisLabels[a.Name]; !ok {
			t.Errorf("analysis %s has no label; add it to analysisLabels", a.Name)
		}
	}
}

func TestSafeNext(t *testing.T) {
	cases := map[string]string{
		"/apps/x/events?from=1": "/apps/x/events?from=1",
		"":                      "/",
		"//evil.example":        "/",
		`/\evil.example`:        "/",
		"https://evil.example":  "/",
		"/x\r\nSet-Cookie: a=b": "/",
	}
	for in, want := range cases {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// Results shaped like the analyses to come, to check every chart kind
// through the templates.
var (
	overviewRes = &analysis.Result{
		Analysis: "overview", App: "shop", From: "2026-03-01", To: "2026-03-03", Timezone: "Asia/Shanghai",
		Columns: []analysis.Column{
			{Name: "day", Type: "day"}, {Name: "visitors", Type: "int"}, {Name: "sessions", Type: "int"},
			{Name: "gmv_fen", Type: "fen"}, {Name: "visitor_to_payer", Type: "ratio"}, {Name: "avg_stay_ms", Type: "ms"},
		},
		Rows: [][]any{
			{"2026-03-01", int64(120), int64(150), int64(1234500), 0.05, int64(35000)},
			// 2026-03-02 has no row: a gap, not a zero, for a ratio.
			{"2026-03-03", int64(80), int64(95), nil, 0.0, int64(20000)},
		},
	}
	skusRes = &analysis.Result{
		Analysis: "skus", App: "shop", From: "2026-03-01", To: "2026-03-07",
		Columns: []analysis.Column{
			{Name: "sku_id", Type: "string"}, {Name: "sku_name", Type: "string"},
			{Name: "exposures", Type: "int"}, {Name: "gmv_fen", Type: "fen"}, {Name: "ctr", Type: "ratio"},
		},
		Rows: func() [][]any {
			var rows [][]any
			for i := range 20 {
				rows = append(rows, []any{"sku" + string(rune('a'+i)), "荔枝礼盒 <script>" + string(rune('A'+i)), int64(1000 - i*10), int64(i * 100), 0.1})
			}
			return rows
		}(),
	}
	funnelRes = &analysis.Result{
		Analysis: "funnel", App: "shop", From: "2026-03-01", To: "2026-03-07",
		Columns: []analysis.Column{
			{Name: "guide_id", Type: "string"}, {Name: "step", Type: "string"},
			{Name: "users", Type: "int"}, {Name: "conversion", Type: "ratio"},
		},
		Rows: [][]any{
			{"g1", "browse_sku_page", int64(100), 1.0}, {"g1", "add_to_cart", int64(40), 0.4}, {"g1", "custom_order:payed", int64(10), 0.25},
			{"g2", "browse_sku_page", int64(50), 1.0}, {"g2", "add_to_cart", int64(0), 0.0}, {"g2", "custom_order:payed", int64(0), nil},
		},
	}
)

func renderPage(t *testing.T, lang, name string, res *analysis.Result, chartCol string) string {
	t.Helper()
	app := &tenant.App{ID: "shop", Name: "Shop"}
	reg, err := tenant.NewRegistry([]*tenant.App{app})
	if err != nil {
		t.Fatal(err)
	}
	v := &view{Lang: lang, User: "alice", App: app, CSS: staticURL("style.css"), Analysis: name, Title: analysisLabel(lang, name)}
	v.navigate(reg.Apps(), app, name, res.From, res.To, url.Values{})
	v.Table = newTable(lang, name, res, func(k string) string { return detailURL("shop", name, res.From, res.To, k) })
	v.Charts = newChartPage(lang, pageCharts(lang, name, res, chartCol, false))
	var buf bytes.Buffer
	if err := templates["analysis"].Execute(&buf, v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// series finds a chart's series by name.
func seriesOf(t *testing.T, c chartSpec, name string) seriesSpec {
	t.Helper()
	for _, s := range c.Series {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("chart %q has no series %q", c.Title, name)
	return seriesSpec{}
}

func TestDayChartsOneUnitOneScale(t *testing.T) {
	charts := pageCharts("en", "overview", overviewRes, "", true)
	// Every chart has one unit; counts never share a chart with money,
	// ratios or durations, nor an average with a total.
	units := map[string]string{}
	for _, c := range charts {
		for _, s := range c.Series {
			if u, ok := units[s.Name]; ok && u != c.Unit {
				t.Errorf("%s drawn in %s and %s", s.Name, u, c.Unit)
			}
			units[s.Name] = c.Unit
		}
		if !c.Partial || len(c.X) != 3 {
			t.Errorf("%s: partial %v, x %v", c.Title, c.Partial, c.X)
		}
	}
	if len(charts) != 4 || charts[0].Title != "Visitors, Sessions" || charts[0].Unit != "int" {
		t.Fatalf("charts: %+v", charts)
	}
	// The missing day is a gap (nil), the NULL GMV too: never a zero.
	v := seriesOf(t, charts[0], "Visitors")
	if v.Data[1] != nil || *v.Data[0] != 120 || *v.Data[2] != 80 {
		t.Errorf("visitors %v", v.Data)
	}
	gmv := seriesOf(t, charts[1], "GMV")
	if gmv.Data[0] == nil || *gmv.Data[0] != 1234500 || gmv.Data[2] != nil {
		t.Errorf("GMV: %v", gmv.Data)
	}
	html := renderPage(t, "en", "overview", overviewRes, "")
	for _, want := range []string{"¥12,345.00", "5.0%", "35.0 s", `<td data-col="gmv_fen" data-label="GMV" class="num">–</td>`, `class="num h0"`, `id="chart-data"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestSameScaleGroups(t *testing.T) {
	res := &analysis.Result{
		Columns: []analysis.Column{{Name: "day", Type: "day"}, {Name: "page_views", Type: "int"}, {Name: "searchers", Type: "int"},
			{Name: "buyers", Type: "int"}, {Name: "gmv_fen", Type: "fen"}, {Name: "avg_x_fen", Type: "fen"}},
		Rows: [][]any{{"2026-03-01", int64(50000), int64(300), int64(200), int64(900000), int64(4500)}},
	}
	got := sameScaleGroups(res, []int{1, 2, 3, 4, 5})
	want := [][]int{{1}, {2, 3}, {4}, {5}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("groups %v, want %v (page views apart from searchers; an average apart from a total)", got, want)
	}
}

func TestStableColours(t *testing.T) {
	res := &analysis.Result{
		Analysis: "events", From: "2026-03-01", To: "2026-03-02",
		Columns: []analysis.Column{{Name: "day", Type: "day"}, {Name: "type", Type: "string"}, {Name: "events", Type: "int"}, {Name: "users", Type: "int"}},
		Rows: [][]any{
			{"2026-03-01", "app_launch", int64(10), int64(8)}, {"2026-03-01", "search", int64(30), int64(2)},
			{"2026-03-02", "app_launch", int64(12), int64(9)},
		},
	}
	charts := pageCharts("zh", "events", res, "", false)
	if len(charts) != 2 {
		t.Fatalf("%d charts", len(charts))
	}
	for _, name := range []string{"启动小程序", "搜索"} {
		a, b := seriesOf(t, charts[0], name), seriesOf(t, charts[1], name)
		if a.Color != b.Color {
			t.Errorf("%s: %s in one chart, %s in the other", name, a.Color, b.Color)
		}
	}
	// A day without a row of a type is 0 events for it, not a gap.
	if s := seriesOf(t, charts[0], "搜索"); s.Data[1] == nil || *s.Data[1] != 0 {
		t.Errorf("search on 03-02: %v", s.Data[1])
	}
}

func TestRankingNoneApart(t *testing.T) {
	res := &analysis.Result{
		Analysis: "guides",
		Columns:  []analysis.Column{{Name: "guide_id", Type: "string"}, {Name: "visitors", Type: "int"}, {Name: "gmv_fen", Type: "fen"}},
		Rows:     [][]any{{nil, int64(500), int64(100)}, {"G1", int64(40), int64(9900)}, {"G2", int64(60), int64(100)}},
	}
	c := pageCharts("en", "guides", res, "gmv_fen", false)[0]
	if c.Kind != "bar" || fmt.Sprint(c.X) != "[G1 G2]" || *c.Series[0].Data[0] != 9900 {
		t.Fatalf("bars %v %v", c.X, c.Series)
	}
	if !strings.Contains(c.Note, "No guide: ¥1.00") {
		t.Errorf("note %q", c.Note)
	}
	tb := newTable("en", "guides", res, func(k string) string { return "/d?id=" + k })
	if !tb.Rows[0].None || tb.Rows[0].Cells[0].Text != "No guide" || tb.Rows[0].Cells[0].Link != "" || tb.Rows[1].Cells[0].Link != "/d?id=G1" {
		t.Errorf("rows %+v", tb.Rows)
	}
	// Visitors do not add up across guides; orders and money do.
	if tb.Total == nil || tb.Total[0].Text != "Total" || tb.Total[1].Text != "" || tb.Total[2].Text != "¥101.00" {
		t.Errorf("totals %+v", tb.Total)
	}
}

func TestFunnelCharts(t *testing.T) {
	res := &analysis.Result{
		Analysis: "funnel",
		Columns: []analysis.Column{{Name: "step", Type: "int"}, {Name: "name", Type: "string"}, {Name: "users", Type: "int"},
			{Name: "conversion", Type: "ratio"}, {Name: "step_conversion", Type: "ratio"}},
		Rows: [][]any{{int64(1), "browse_sku_page", int64(1800), 1.0, nil}, {int64(2), "add_to_cart", int64(992), 0.55, 0.55},
			{int64(3), "custom_order:payed", int64(278), 0.15, 0.28}},
	}
	c := pageCharts("zh", "funnel", res, "", false)
	if len(c) != 1 || c[0].Kind != "funnel" || fmt.Sprint(c[0].X) != "[浏览商品 加入购物车 订单（已支付）]" {
		t.Fatalf("%+v", c)
	}
	if d := c[0].Series[0].Data; *d[0] != 1800 || *d[1] != 992 || *d[2] != 278 {
		t.Errorf("users %v", d)
	}
	byRes := &analysis.Result{
		Analysis: "funnel",
		Columns:  append([]analysis.Column{{Name: "guide_id", Type: "string"}}, res.Columns...),
		Rows: [][]any{
			{nil, int64(1), "browse_sku_page", int64(900), 1.0, nil}, {nil, int64(2), "add_to_cart", int64(9), 0.01, 0.01},
			{"G1", int64(1), "browse_sku_page", int64(100), 1.0, nil}, {"G1", int64(2), "add_to_cart", int64(40), 0.4, 0.4},
			{"G2", int64(1), "browse_sku_page", int64(300), 1.0, nil}, {"G2", int64(2), "add_to_cart", int64(30), 0.1, 0.1},
		},
	}
	g := pageCharts("en", "funnel", byRes, "", false)
	if len(g) != 1 || g[0].Kind != "grouped" || fmt.Sprint(g[0].X) != "[G2 G1 No guide]" || len(g[0].Series) != 2 {
		t.Fatalf("grouped: %+v", g)
	}
	if s := g[0].Series[1]; s.Name != "Add to cart" || *s.Data[0] != 30 || *s.Data[2] != 9 {
		t.Errorf("add to cart by group: %+v", s)
	}
}

func TestRetentionGaps(t *testing.T) {
	res := &analysis.Result{
		Analysis: "retention",
		Columns:  []analysis.Column{{Name: "day", Type: "day"}, {Name: "new_users", Type: "int"}, {Name: "d1", Type: "ratio"}, {Name: "d2", Type: "ratio"}},
		Rows:     [][]any{{"2026-03-01", int64(10), 0.5, 0.2}, {"2026-03-02", int64(8), 0.25, nil}},
	}
	c := pageCharts("en", "retention", res, "", false)
	if len(c) != 1 || len(c[0].Series) != 2 || c[0].Series[1].Data[1] != nil || fmt.Sprint(c[0].X) != "[Day 1 Day 2]" {
		t.Fatalf("%+v", c)
	}
}

func TestDuration(t *testing.T) {
	cases := []struct {
		lang string
		ms   float64
		want string
	}{
		{"en", 74_000, "1 min 14 s"},
		{"zh", 74_000, "1 分 14 秒"},
		{"en", 33_607_400, "9 h 20 min"},
		{"en", 1_000, "1.0 s"},
		{"en", 59_960, "1 min 0 s"},
		{"zh", 45_000_000, "12 小时 30 分"},
		{"en", 0, "0.0 s"},
	}
	for _, tc := range cases {
		if got := duration(tc.lang, tc.ms); got != tc.want {
			t.Errorf("duration(%s, %v) = %q, want %q", tc.lang, tc.ms, got, tc.want)
		}
	}
}

func TestChange(t *testing.T) {
	cases := []struct {
		typ       string
		cur, prev any
		want      string
		up, down  bool
	}{
		{"int", int64(110), int64(100), "+10.0%", true, false},
		{"fen", int64(90), int64(100), "-10.0%", false, true},
		{"int", int64(5), int64(0), "new", true, false},
		{"int", int64(0), int64(0), "0%", false, false},
		{"ratio", 0.052, 0.044, "+0.8 pts", true, false},
		{"fen", nil, int64(100), "–", false, false},
	}
	for _, tc := range cases {
		got, up, down := change("en", tc.typ, tc.cur, tc.prev)
		if got != tc.want || up != tc.up || down != tc.down {
			t.Errorf("change(%v, %v) = %q %v %v, want %q %v %v", tc.cur, tc.prev, got, up, down, tc.want, tc.up, tc.down)
		}
	}
}

func TestBadRequestTranslated(t *testing.T) {
	cases := map[[2]string]string{
		{"to", "must not be before from"}:                            "结束日期：不能早于开始日期",
		{"from", `must be a date YYYY-MM-DD, got "x"`}:               "开始日期：应为日期（格式 `YYYY-MM-DD`），收到 `\"x\"`",
		{"to", "range is 400 days; at most 366"}:                     "结束日期：范围为 400 天，最多 366 天",
		{"by", `must be one of guide_id, room_id; got "x"`}:          "分组：应为以下之一：`guide_id, room_id`；收到 `\"x\"`",
		{"limit", `must be a whole number from 1 to 10000, got "0"`}: "显示条数：应为 1 到 10000 之间的整数，收到 `\"0\"`",
	}
	for in, want := range cases {
		if got := badRequest("zh", in[0], in[1]); got != want {
			t.Errorf("badRequest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParamFields(t *testing.T) {
	fields := paramFields("en", "funnel", url.Values{"by": {"room_id"}, "steps": {"a,b"}, "zz": {"1"}})
	if len(fields) != 4 || fields[0].Name != "steps" || fields[0].Value != "a,b" || fields[2].Name != "by" || fields[3].Name != "zz" {
		t.Fatalf("fields %+v", fields)
	}
	var selected string
	for _, o := range fields[2].Options {
		if o.Selected {
			selected = o.Value
		}
	}
	if selected != "room_id" || fields[2].Options[0].Label != "(none)" {
		t.Errorf("by options %+v", fields[2].Options)
	}
}

func TestEmptyResultHasNoChart(t *testing.T) {
	res := &analysis.Result{Columns: []analysis.Column{{Name: "day", Type: "day"}, {Name: "users", Type: "int"}}, Rows: [][]any{}}
	if c := pageCharts("en", "events", res, "", false); len(c) != 0 {
		t.Errorf("charts of no rows: %v", c)
	}
}
