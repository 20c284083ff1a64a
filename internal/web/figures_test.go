package web_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// checkFigures compares the cells a page shows with the rows of the JSON
// API. It reads the shown text back with its own parsing (not the
// dashboard's formatter), so a wrong format or a wrong figure both fail.
func checkFigures(t testing.TB, page string, res apiResult, shown [][]string) {
	t.Helper()
	want := len(res.Rows)
	if want > 1000 {
		want = 1000 // the page shows the first 1000; the CSV has them all
	}
	if len(shown) != want {
		t.Errorf("%s: %d rows shown, the API has %d", page, len(shown), len(res.Rows))
		return
	}
	for i, row := range shown {
		if len(row) != len(res.Columns) {
			t.Errorf("%s row %d: %d cells, %d columns", page, i, len(row), len(res.Columns))
			continue
		}
		for j, text := range row {
			c := res.Columns[j]
			if err := sameFigure(c.Type, strings.TrimSpace(text), res.Rows[i][j]); err != nil {
				t.Errorf("%s row %d column %s (%s): shown %q, API %v: %v", page, i, c.Name, c.Type, text, res.Rows[i][j], err)
			}
		}
	}
}

func sameFigure(typ, text string, v any) error {
	if v == nil || v == "" {
		// "–", or the empty data-raw of a cell that names the none bucket.
		if text != "–" && text != "" {
			return fmt.Errorf("want – for no value")
		}
		return nil
	}
	if typ == "ms" {
		api, err := v.(json.Number).Float64()
		if err != nil {
			return err
		}
		got, tol, err := parseDuration(text)
		if err != nil {
			return err
		}
		if math.Abs(got-api) > tol {
			return fmt.Errorf("shown %v ms, API %v", got, api)
		}
		return nil
	}
	if typ == "day" || typ == "string" {
		if text != fmt.Sprint(v) {
			return fmt.Errorf("text differs")
		}
		return nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return fmt.Errorf("API value is not a number")
	}
	api, err := n.Float64()
	if err != nil {
		return err
	}
	plain := strings.NewReplacer(",", "", "¥", "", "%", "").Replace(text)
	shown, err := strconv.ParseFloat(plain, 64)
	if err != nil {
		return fmt.Errorf("not a number: %v", err)
	}
	var got, tol float64
	switch typ {
	case "int":
		if strings.Contains(text, ".") {
			return fmt.Errorf("an int shown with decimals")
		}
		got, tol = shown, 0
	case "fen":
		if !strings.Contains(text, "¥") || !strings.Contains(text, ".") || len(plain)-strings.Index(plain, ".") != 3 {
			return fmt.Errorf("fen must show as ¥ with 2 decimals")
		}
		got, tol = math.Round(shown*100), 0
		api = math.Round(api)
	case "ratio":
		if !strings.HasSuffix(text, "%") {
			return fmt.Errorf("ratio must show as %%")
		}
		got, tol = shown/100, 0.0005+1e-9
	default:
		if text != n.String() {
			return fmt.Errorf("text differs")
		}
		return nil
	}
	if math.Abs(got-api) > tol {
		return fmt.Errorf("shown %v, API %v", got, api)
	}
	return nil
}

// parseDuration reads a duration as the dashboard shows it ("33.6 s",
// "12 min 5 s", "9 h 20 min", or 秒, 分, 小时) into ms, with the
// tolerance of its rounding.
func parseDuration(text string) (ms, tol float64, err error) {
	units := map[string]float64{"s": 1000, "秒": 1000, "min": 60_000, "分": 60_000, "h": 3_600_000, "小时": 3_600_000}
	f := strings.Fields(text)
	if len(f) == 0 || len(f)%2 != 0 {
		return 0, 0, fmt.Errorf("not a duration: %q", text)
	}
	smallest := 0.0
	for i := 0; i < len(f); i += 2 {
		n, err := strconv.ParseFloat(strings.ReplaceAll(f[i], ",", ""), 64)
		u, ok := units[f[i+1]]
		if err != nil || !ok {
			return 0, 0, fmt.Errorf("not a duration: %q", text)
		}
		ms += n * u
		smallest = u
		if strings.Contains(f[i], ".") {
			smallest = u / 10
		}
	}
	return ms, smallest/2 + 1e-6, nil
}
