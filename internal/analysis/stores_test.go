package analysis

import (
	"encoding/json"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
)

// everyQuestion is questions, and the analyses and parameters it leaves
// out: the backend-order analyses and every channel dimension.
func everyQuestion() []struct{ name, params string } {
	qs := append([]struct{ name, params string }{}, questions...)
	qs = append(qs, struct{ name, params string }{"orders", ""}, struct{ name, params string }{"reconciliation", ""},
		struct{ name, params string }{"official-account", "accounts=wxOA&articles=a1,a2"},
		struct{ name, params string }{"skus", "sort=gmv_fen&limit=3"})
	for _, d := range channelDimension.Options {
		qs = append(qs, struct{ name, params string }{"channels", "dimension=" + d})
	}
	return qs
}

// TestStoresAgree loads the same data into the embedded store and
// PostgreSQL and wants every analysis to answer the same JSON on both,
// from the roll-ups and from the raw events alike.
func TestStoresAgree(t *testing.T) {
	storetest.SkipWithoutPostgres(t)
	duck := fixtureOn(t, storetest.DuckDB)
	pg := fixtureOn(t, storetest.Postgres)
	compareRawAndRollup(t, pg, fixtureTenant, "2026-03-01", "2026-03-02")
	fillDemo(t, duck)
	fillDemo(t, pg)
	fillDemo(t, pg) // all duplicates
	compareRawAndRollup(t, pg, demoApp, "2026-03-02", "2026-03-04")
	for _, c := range []struct {
		app      string
		from, to string
	}{
		{fixtureApp, "2026-03-01", "2026-03-02"},
		{demoApp.ID, "2026-03-02", "2026-03-04"},
		{demoApp.ID, "2026-03-03", "2026-03-03"},
	} {
		app := fixtureTenant
		if c.app == demoApp.ID {
			app = demoApp
		}
		for _, qq := range everyQuestion() {
			for _, raw := range []bool{false, true} {
				a, err := askApp(duck, app, qq.name, c.from, c.to, qq.params, raw)
				if err != nil {
					t.Fatalf("duckdb %s?%s: %v", qq.name, qq.params, err)
				}
				b, err := askApp(pg, app, qq.name, c.from, c.to, qq.params, raw)
				if err != nil {
					t.Fatalf("postgres %s?%s: %v", qq.name, qq.params, err)
				}
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if string(ja) != string(jb) {
					t.Errorf("%s %s..%s %s?%s (raw %v): the stores differ\nduckdb:\n%s\npostgres:\n%s",
						c.app, c.from, c.to, qq.name, qq.params, raw, dump(a), dump(b))
				}
			}
		}
	}
}
