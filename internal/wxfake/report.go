package wxfake

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReportRow is one row of user_action_set_reports/get's data.list. Hour,
// Domain and ActionType are present only for the granularity/aggregation
// that asks for them.
type ReportRow struct {
	Date                  string  `json:"date"`
	Hour                  *int    `json:"hour,omitempty"`
	Domain                *string `json:"domain,omitempty"`
	ActionType            *string `json:"action_type,omitempty"`
	RawActionCount        int64   `json:"raw_action_count"`
	IdentifiedActionCount int64   `json:"identified_action_count"`
	IdentifiedUserCount   int64   `json:"identified_user_count"`
}

type reportKey struct {
	date string
	hour int
	dim  string
}

// report serves user_action_set_reports/get: counts of the recorded,
// non-duplicate actions of one data source, by GMT+8 day (and hour), and by
// domain or action type. Days are those of action_time.
func (s *Server) report(a *appState, q url.Values) reply {
	v := q.Get("user_action_set_id")
	if v == "" {
		return s.fail(codeValidation, "user_action_set_id is required")
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return s.failf(codeValidation, "invalid user_action_set_id %q", v)
	}
	if set := s.sets[id]; set == nil || set.AccountID != a.AccountID {
		return s.failf(codeValidation, "action set %d does not belong to this account %d", id, a.AccountID)
	}

	dr := q.Get("date_range")
	if dr == "" {
		return s.fail(codeValidation, "date_range is required")
	}
	var rng struct {
		Start *string `json:"start_date"`
		End   *string `json:"end_date"`
	}
	if kindOf([]byte(dr)) != '{' || json.Unmarshal([]byte(dr), &rng) != nil {
		return s.fail(codeMalformed, msgMalformed)
	}
	if rng.Start == nil || rng.End == nil {
		return s.fail(codeValidation, "date_range needs start_date and end_date")
	}
	start, end := *rng.Start, *rng.End
	for name, d := range map[string]string{"start_date": start, "end_date": end} {
		if t, err := time.ParseInLocation(time.DateOnly, d, gmt8); err != nil || t.Format(time.DateOnly) != d {
			return s.failf(codeValidation, "date_range.%s %q is not YYYY-MM-DD", name, d)
		}
	}
	if start > end {
		return s.failf(codeValidation, "date_range.start_date %s is after end_date %s", start, end)
	}
	if today := dayOf(s.opts.Now()); end > today {
		return s.failf(codeValidation, "date_range.end_date %s is after today %s", end, today)
	}

	gran := q.Get("time_granularity")
	switch gran {
	case "":
		gran = "HOURLY" // the documented default
	case "DAILY", "HOURLY":
	default:
		return s.failf(codeValidation, "invalid time_granularity %q, want DAILY or HOURLY", gran)
	}
	agg := q.Get("aggregation")
	switch agg {
	case "", "DOMAIN", "ACTION_TYPE":
	default:
		return s.failf(codeValidation, "invalid aggregation %q, want DOMAIN or ACTION_TYPE", agg)
	}

	rows := map[reportKey]*ReportRow{}
	users := map[reportKey]map[string]bool{}
	for _, ra := range s.actions {
		if ra.UserActionSetID != id || ra.Duplicate {
			continue
		}
		t := time.Unix(ra.ActionTime, 0).In(gmt8)
		k := reportKey{date: t.Format(time.DateOnly), hour: -1}
		if k.date < start || k.date > end {
			continue
		}
		if gran == "HOURLY" {
			k.hour = t.Hour()
		}
		switch agg {
		case "DOMAIN":
			k.dim = domainOf(ra.url)
		case "ACTION_TYPE":
			k.dim = ra.ActionType
		}
		row := rows[k]
		if row == nil {
			row = &ReportRow{Date: k.date}
			if k.hour >= 0 {
				row.Hour = &k.hour
			}
			switch agg {
			case "DOMAIN":
				row.Domain = &k.dim
			case "ACTION_TYPE":
				row.ActionType = &k.dim
			}
			rows[k] = row
			users[k] = map[string]bool{}
		}
		row.RawActionCount++
		if ra.Identified {
			row.IdentifiedActionCount++
			users[k][ra.userKey] = true
		}
	}
	keys := make([]reportKey, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y reportKey) int {
		if c := strings.Compare(x.date, y.date); c != 0 {
			return c
		}
		if x.hour != y.hour {
			return x.hour - y.hour
		}
		return strings.Compare(x.dim, y.dim)
	})
	list := make([]ReportRow, 0, len(keys))
	for _, k := range keys {
		row := rows[k]
		row.IdentifiedUserCount = int64(len(users[k]))
		list = append(list, *row)
	}
	return success(map[string]any{"list": list})
}

// domainOf is the host of a reported url; a page path (what mini-programs
// send) has none and is reported under the empty domain.
func domainOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
