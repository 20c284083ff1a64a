package wxfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// serveControl answers the /_fake/ inspection and control endpoints used by
// tests in other processes and by `shuyuan fakewx` operators.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_fake/actions":
		switch r.Method {
		case http.MethodGet:
			var filter int64
			if v := r.URL.Query().Get("user_action_set_id"); v != "" {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					controlError(w, http.StatusBadRequest, "user_action_set_id must be an integer")
					return
				}
				filter = id
			}
			list := []RecordedAction{}
			for _, a := range s.Actions() {
				if filter == 0 || a.UserActionSetID == filter {
					list = append(list, a)
				}
			}
			writeJSON(w, http.StatusOK, list)
		case http.MethodDelete:
			s.ResetActions()
			writeJSON(w, http.StatusOK, envelope{})
		default:
			controlError(w, http.StatusMethodNotAllowed, "use GET or DELETE")
		}
	case "/_fake/sets":
		if r.Method != http.MethodGet {
			controlError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		writeJSON(w, http.StatusOK, s.ActionSets())
	case "/_fake/reset":
		if r.Method != http.MethodPost {
			controlError(w, http.StatusMethodNotAllowed, "use POST")
			return
		}
		s.Reset()
		writeJSON(w, http.StatusOK, envelope{})
	case "/_fake/clicks":
		if r.Method != http.MethodPost {
			controlError(w, http.StatusMethodNotAllowed, "use POST")
			return
		}
		var req struct {
			ClickIDs []string `json:"click_ids"`
		}
		if err := decodeControl(r, &req); err != nil {
			controlError(w, http.StatusBadRequest, "want {\"click_ids\":[...]}: "+err.Error())
			return
		}
		s.AddClick(req.ClickIDs...)
		writeJSON(w, http.StatusOK, envelope{})
	case "/_fake/faults":
		if r.Method != http.MethodPost {
			controlError(w, http.StatusMethodNotAllowed, "use POST")
			return
		}
		var req struct {
			Endpoint string `json:"endpoint"`
			Faults   []struct {
				Kind    FaultKind `json:"kind"`
				Code    int64     `json:"code"`
				Msg     string    `json:"msg"`
				DelayMS int64     `json:"delay_ms"`
			} `json:"faults"`
		}
		if err := decodeControl(r, &req); err != nil {
			controlError(w, http.StatusBadRequest, "want {\"endpoint\":...,\"faults\":[{\"kind\":...}]}: "+err.Error())
			return
		}
		faults := make([]Fault, 0, len(req.Faults))
		for _, f := range req.Faults {
			faults = append(faults, Fault{Kind: f.Kind, Code: f.Code, Msg: f.Msg, Delay: time.Duration(f.DelayMS) * time.Millisecond})
		}
		if err := s.Script(req.Endpoint, faults...); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, envelope{})
	default:
		controlError(w, http.StatusNotFound, "no such control endpoint "+r.URL.Path)
	}
}

// decodeControl reads a small JSON control body.
func decodeControl(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, envelope{ErrCode: int64(status), ErrMsg: "wxfake: " + msg})
}
