package web

import (
	"bytes"
	"encoding/json"
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
		{"en", "ms", float64(3_600_000), "3,600.0 s"},
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

func TestNiceScale(t *testing.T) {
	cases := []struct{ lo, hi, wantLo, wantHi, wantStep float64 }{
		{0, 37, 0, 40, 10},
		{0, 0, 0, 1, 0.2},
		{0, 0.123, 0, 0.125, 0.025},
		{-12, 95, -25, 100, 25},
		{0, 123456, 0, 125000, 25000},
	}
	for _, tc := range cases {
		lo, hi, step := niceScale(tc.lo, tc.hi, 5)
		if lo != tc.wantLo || hi != tc.wantHi || step != tc.wantStep {
			t.Errorf("niceScale(%v, %v) = %v, %v, %v; want %v, %v, %v", tc.lo, tc.hi, lo, hi, step, tc.wantLo, tc.wantHi, tc.wantStep)
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
	v.Table = newTable(lang, res)
	switch shape(name, res) {
	case "line":
		v.Charts = lineCharts(lang, res)
	case "funnel":
		v.Charts = funnelCharts(lang, res)
	case "bar":
		by := barChoice(res, chartCol)
		v.Charts = []chart{barChart(lang, res, by)}
		v.Choices = v.barChoices(res, by, &url.URL{Path: "/apps/shop/" + name})
	}
	var buf bytes.Buffer
	if err := templates["analysis"].Execute(&buf, v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestLineChartsByUnit(t *testing.T) {
	if s := shape("overview", overviewRes); s != "line" {
		t.Fatalf("shape %q", s)
	}
	charts := lineCharts("en", overviewRes)
	// int (visitors, sessions), fen, ratio, ms: one chart per unit.
	if len(charts) != 4 || len(charts[0].Series) != 2 || charts[0].Title != "Visitors, Sessions" || charts[1].Title != "GMV" {
		t.Fatalf("charts: %d, first %q with %d lines", len(charts), charts[0].Title, len(charts[0].Series))
	}
	// Three days on the axis; the missing day breaks the line: two moves.
	visitors := charts[0].Series[0]
	if len(charts[0].XTicks) != 3 || strings.Count(visitors.Path, "M") != 2 || len(visitors.Dots) != 2 {
		t.Errorf("visitors: ticks %v, path %q", charts[0].XTicks, visitors.Path)
	}
	// The NULL GMV of 03-03 is no point.
	if n := len(charts[1].Series[0].Dots); n != 1 {
		t.Errorf("GMV points: %d, want 1", n)
	}
	if d := visitors.Dots[0].Title; d != "Visitors · 2026-03-01: 120" {
		t.Errorf("tooltip %q", d)
	}
	html := renderPage(t, "en", "overview", overviewRes, "")
	for _, want := range []string{"¥12,345.00", "5.0%", "35.0 s", "<td class=\"num\">–</td>", `class="num h0"`, "Visitors, Sessions", "Average stay"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestBarChartRanks(t *testing.T) {
	if s := shape("skus", skusRes); s != "bar" {
		t.Fatalf("shape %q", s)
	}
	c := barChart("zh", skusRes, barChoice(skusRes, ""))
	if c.Title != "曝光次数" || len(c.Bars) != maxBars || c.Bars[0].Value != "1,000" || !strings.HasPrefix(c.Bars[0].Label, "skua · 荔枝礼盒") {
		t.Fatalf("by exposures: %q, %d bars, first %+v", c.Title, len(c.Bars), c.Bars[0])
	}
	c = barChart("zh", skusRes, barChoice(skusRes, "gmv_fen"))
	if c.Title != "成交额" || c.Bars[0].Value != "¥19.00" || c.Bars[0].W <= c.Bars[1].W {
		t.Fatalf("by GMV: %q, first %+v", c.Title, c.Bars[0])
	}
	// A non-numeric or unknown ?chart= falls back to the first number.
	if by := barChoice(skusRes, "sku_name"); skusRes.Columns[by].Name != "exposures" {
		t.Errorf("chart=sku_name chose %s", skusRes.Columns[by].Name)
	}
	html := renderPage(t, "zh", "skus", skusRes, "gmv_fen")
	if strings.Contains(html, "<script>") || !strings.Contains(html, "荔枝礼盒 &lt;script&gt;") {
		t.Errorf("names must be escaped")
	}
	if !strings.Contains(html, `href="/apps/shop/skus?chart=ctr"`) || !strings.Contains(html, `chart-bar`) {
		t.Errorf("the ranking can be drawn by each number")
	}
}

func TestFunnelChart(t *testing.T) {
	if s := shape("funnel", funnelRes); s != "funnel" {
		t.Fatalf("shape %q", s)
	}
	charts := funnelCharts("en", funnelRes)
	if len(charts) != 2 || charts[0].Title != "Funnel · g1" || len(charts[0].Steps) != 3 {
		t.Fatalf("one funnel per guide: %d, %q", len(charts), charts[0].Title)
	}
	s := charts[0].Steps
	if s[0].Label != "Product view" || s[2].Label != "Order (paid)" || s[1].Conv != "40.0% of previous · 40.0% of first" || s[2].Conv != "25.0% of previous · 10.0% of first" {
		t.Errorf("steps %+v", s)
	}
	if s[0].W <= s[1].W || s[1].W <= s[2].W {
		t.Errorf("widths must shrink: %v %v %v", s[0].W, s[1].W, s[2].W)
	}
	// No users at a step: no division by zero.
	if c := charts[1].Steps[2].Conv; c != "– of previous · 0.0% of first" {
		t.Errorf("empty step: %q", c)
	}
	html := renderPage(t, "zh", "funnel", funnelRes, "")
	if !strings.Contains(html, "chart-funnel") || !strings.Contains(html, "浏览商品") || !strings.Contains(html, "订单（已支付）") || !strings.Contains(html, "占上一步 40.0%") {
		t.Errorf("funnel page:\n%s", html)
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
	if s := shape("events", res); s != "" {
		t.Errorf("shape of no rows: %q", s)
	}
	res = &analysis.Result{Columns: []analysis.Column{{Name: "order_id", Type: "string"}}, Rows: [][]any{{"o1"}}}
	if s := shape("orders", res); s != "" {
		t.Errorf("shape without numbers: %q", s)
	}
}
