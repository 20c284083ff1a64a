package server

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	type app struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Timezone string `json:"timezone"`
	}
	out := []app{}
	for _, a := range s.Tenants.Apps() {
		out = append(out, app{a.ID, a.Name, a.Location.String()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": out})
}

func (s *Server) appOf(w http.ResponseWriter, r *http.Request) (*tenant.App, bool) {
	app, ok := s.Tenants.ByID(r.PathValue("app"))
	if !ok {
		writeAPIError(w, http.StatusNotFound, "unknown_app", fmt.Sprintf("no app %q", r.PathValue("app")))
	}
	return app, ok
}

func (s *Server) listAnalyses(w http.ResponseWriter, r *http.Request) {
	app, ok := s.appOf(w, r)
	if !ok {
		return
	}
	type entry struct {
		Name        string           `json:"name"`
		Description string           `json:"description"`
		URL         string           `json:"url"`
		Params      []analysis.Param `json:"params,omitempty"`
	}
	out := []entry{}
	for _, a := range analysis.All() {
		out = append(out, entry{a.Name, a.Description, "/api/v1/apps/" + app.ID + "/analysis/" + a.Name, a.Params})
	}
	writeJSON(w, http.StatusOK, map[string]any{"analyses": out})
}

// analysis is GET /api/v1/apps/{app}/analysis/{name}?from=&to=[&format=csv].
func (s *Server) analysis(w http.ResponseWriter, r *http.Request) {
	app, ok := s.appOf(w, r)
	if !ok {
		return
	}
	a, ok := analysis.Get(r.PathValue("name"))
	if !ok {
		writeAPIError(w, http.StatusNotFound, "unknown_analysis", fmt.Sprintf("no analysis %q; GET /api/v1/apps/%s/analysis lists them", r.PathValue("name"), app.ID))
		return
	}
	qs := r.URL.Query()
	q, err := analysis.ParseQuery(app, qs.Get("from"), qs.Get("to"), qs)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	res, err := a.Run(r.Context(), s.Store, q)
	if err != nil {
		var bad *analysis.BadRequest
		if errors.As(err, &bad) {
			writeAPIError(w, http.StatusBadRequest, "bad_request", bad.Error())
			return
		}
		s.Logger.Error("analysis failed", "request_id", RequestID(r.Context()), "analysis", a.Name, "error", err)
		writeAPIError(w, http.StatusServiceUnavailable, "unavailable", "analysis failed; request id "+RequestID(r.Context()))
		return
	}
	if qs.Get("format") == "csv" {
		WriteCSV(w, res)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// WriteCSV writes an analysis result as CSV: a header of the column names,
// then one record per row with raw values (fen as integers), each cell
// made formula-safe by CSVCell.
func WriteCSV(w http.ResponseWriter, res *analysis.Result) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s_%s.csv"`, res.App, res.Analysis, res.From, res.To))
	cw := csv.NewWriter(w)
	head := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		head[i] = c.Name
	}
	cw.Write(head) //nolint:errcheck // checked by Flush below
	for _, row := range res.Rows {
		rec := make([]string, len(row))
		for i, v := range row {
			if v != nil {
				rec[i] = CSVCell(fmt.Sprint(v))
			}
		}
		cw.Write(rec) //nolint:errcheck
	}
	cw.Flush()
}
