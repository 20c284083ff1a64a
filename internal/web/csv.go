package web

import (
	"encoding/csv"
	"fmt"
	"net/http"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
	"github.com/shuyuan-dev/shuyuan/internal/server"
)

// utf8BOM makes Excel read the file as UTF-8; without it Chinese names
// come out garbled.
const utf8BOM = "\ufeff"

// writeCSV writes a result as the page shows it, for a spreadsheet: the
// headers in the page's language, yuan, percentages and durations as in
// the table, names for codes, every row (not only the first 1,000), a
// UTF-8 BOM, and every text cell formula-safe (server.CSVCell). The API's
// ?format=csv keeps the raw column names and values for programs.
func writeCSV(w http.ResponseWriter, lang string, res *analysis.Result) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s_%s.csv"`, res.App, res.Analysis, res.From, res.To))
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(utf8BOM)) //nolint:errcheck // a failed write fails the Flush below
	cw := csv.NewWriter(w)
	head := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		head[i] = server.CSVCell(colLabel(lang, res.Analysis, c.Name, c.Label))
	}
	cw.Write(head) //nolint:errcheck // checked by Flush below
	for _, row := range res.Rows {
		rec := make([]string, len(res.Columns))
		for i, c := range res.Columns {
			var v any
			if i < len(row) {
				v = row[i]
			}
			if c.Type == "string" {
				s, _ := displayValue(lang, res, row, i)
				rec[i] = server.CSVCell(s)
			} else {
				// Our own formatting: digits, ¥, separators, %, units;
				// "-¥2.50" is a difference, not a formula.
				rec[i] = cell(lang, c.Type, v)
			}
		}
		cw.Write(rec) //nolint:errcheck
	}
	cw.Flush()
}
