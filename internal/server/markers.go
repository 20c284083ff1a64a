package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/shuyuan-dev/shuyuan/internal/datacube"
)

// The admin routes of the article markers (docs/wechat-data.md): the value
// a merchant puts in the mini-program link inside an article, and the
// article it stands for.

// listMarkers is GET /api/v1/apps/{app}/article-markers.
func (s *Server) listMarkers(w http.ResponseWriter, r *http.Request) {
	app, ok := s.appOf(w, r)
	if !ok {
		return
	}
	ms, err := datacube.Markers(r.Context(), s.Store, app.ID)
	if err != nil {
		s.markerFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"markers": ms})
}

// putMarker is PUT /api/v1/apps/{app}/article-markers/{marker}, with a
// body {"msgid":..., "title":..., "link":...}.
func (s *Server) putMarker(w http.ResponseWriter, r *http.Request) {
	app, ok := s.appOf(w, r)
	if !ok {
		return
	}
	var in datacube.MarkerInput
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeAPIError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf(`body: must be a JSON object {"msgid", "title", "link"}: %v`, err))
		return
	}
	m, err := datacube.PutMarker(r.Context(), s.Store, app.ID, r.PathValue("marker"), in, s.Now())
	if err != nil {
		s.markerFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// deleteMarker is DELETE /api/v1/apps/{app}/article-markers/{marker}.
func (s *Server) deleteMarker(w http.ResponseWriter, r *http.Request) {
	app, ok := s.appOf(w, r)
	if !ok {
		return
	}
	marker := r.PathValue("marker")
	found, err := datacube.DeleteMarker(r.Context(), s.Store, app.ID, marker)
	if err != nil {
		s.markerFailed(w, r, err)
		return
	}
	if !found {
		writeAPIError(w, http.StatusNotFound, "unknown_marker", fmt.Sprintf("app %s has no article marker %q", app.ID, marker))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": marker})
}

// markerFailed answers an error of the marker routes: the input's with
// 400, the store's with 503.
func (s *Server) markerFailed(w http.ResponseWriter, r *http.Request, err error) {
	var bad *datacube.BadMarker
	if errors.As(err, &bad) {
		writeAPIError(w, http.StatusBadRequest, "bad_request", bad.Error())
		return
	}
	s.Logger.Error("article marker failed", "request_id", RequestID(r.Context()), "error", err)
	writeAPIError(w, http.StatusServiceUnavailable, "unavailable", "the store failed; request id "+RequestID(r.Context()))
}
