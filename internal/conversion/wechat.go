package conversion

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxads"
)

// stateSetID is the app_state key of the app's WeChat data source.
const stateSetID = "user_action_set_id"

// SetID returns the app's WeChat data source: the one configured
// (ads.user_action_set_id), else the one stored, else the account's WEB data
// source, created (or adopted, if the account has one) and stored.
func (s *Service) SetID(ctx context.Context, app string) (int64, error) {
	a, ok := s.apps.ByID(app)
	if !ok {
		return 0, fmt.Errorf("%w: no app %q", ErrUnknownApp, app)
	}
	if a.UserActionSetID > 0 {
		return a.UserActionSetID, nil
	}
	if id, ok, err := s.storedSetID(ctx, app); err != nil || ok {
		return id, err
	}
	id, _, err := s.EnsureDataSource(ctx, app)
	return id, err
}

// storedSetID reads the data source id kept in the app's state.
func (s *Service) storedSetID(ctx context.Context, app string) (int64, bool, error) {
	s.mu.Lock()
	id, ok := s.setIDs[app]
	s.mu.Unlock()
	if ok {
		return id, true, nil
	}
	v, ok, err := s.st.AppState(ctx, app, stateSetID)
	if err != nil || !ok {
		return 0, false, err
	}
	id, err = strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, false, fmt.Errorf("stored data source of %s is %q, not an id", app, v)
	}
	s.mu.Lock()
	s.setIDs[app] = id
	s.mu.Unlock()
	return id, true, nil
}

// EnsureDataSource creates the app's WEB data source on WeChat, or adopts
// the one the account already has (an account holds one, spec §3.3), and
// stores its id in the app's state. created tells whether WeChat created
// it now.
func (s *Service) EnsureDataSource(ctx context.Context, app string) (id int64, created bool, err error) {
	a, wx, err := s.app(app)
	if err != nil {
		return 0, false, err
	}
	// The name is 1–32 bytes; app ids are ASCII.
	name := "shuyuan-" + a.ID
	if len(name) > 32 {
		name = name[:32]
	}
	id, created, err = wx.client.EnsureWebActionSet(ctx, name, "shuyuan conversions of "+truncate(a.ID, 64))
	if err != nil {
		return 0, false, err
	}
	now := s.now().UTC()
	if err := s.st.SetAppState(ctx, app, stateSetID, strconv.FormatInt(id, 10), now); err != nil {
		return id, created, fmt.Errorf("store data source %d of %s: %w", id, app, err)
	}
	s.mu.Lock()
	s.setIDs[app] = id
	s.mu.Unlock()
	return id, created, nil
}

// DataSources lists the account's data sources on WeChat (id > 0: that
// one), and the app's own data source id (0 if none yet).
func (s *Service) DataSources(ctx context.Context, app string, id int64) ([]wxads.ActionSet, int64, error) {
	a, wx, err := s.app(app)
	if err != nil {
		return nil, 0, err
	}
	sets, err := wx.client.GetActionSets(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	own := a.UserActionSetID
	if own == 0 {
		if stored, ok, err := s.storedSetID(ctx, app); err == nil && ok {
			own = stored
		}
	}
	return sets, own, nil
}

// Token returns the app's current access token and when it expires, from
// the same cache the deliveries use: other services of the merchant take
// it from here instead of fetching their own.
func (s *Service) Token(ctx context.Context, app string) (string, time.Time, error) {
	_, wx, err := s.app(app)
	if err != nil {
		return "", time.Time{}, err
	}
	tok, err := wx.tokens.Token(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	t, ok, err := s.st.LoadToken(ctx, wx.tokens.AppID())
	if err != nil || !ok || t.Value != tok {
		// Replaced in between: the platform's lifetime is unknown here,
		// but the token was current a moment ago.
		return tok, s.now().Add(5 * time.Minute), nil
	}
	return tok, t.ExpiresAt, nil
}

// Report is WeChat's data-source report next to our own count of the
// actions we delivered, so a merchant sees gaps.
type Report struct {
	SetID int64 `json:"user_action_set_id"`
	// WeChat is user_action_set_reports/get's data.list.
	WeChat []wxads.ReportRow `json:"list"`
	// Ours counts our conversions by GMT+8 day of action_time (the day
	// WeChat counts them on) and action type.
	Ours []DayCount `json:"delivered"`
}

// DayCount is our count of one day and action type.
type DayCount struct {
	Date       string `json:"date"`
	ActionType string `json:"action_type"`
	Delivered  int64  `json:"delivered"`
	Pending    int64  `json:"pending"`
	Dead       int64  `json:"dead"`
}

// Report reads WeChat's report of the app's data source for req's dates
// (req.UserActionSetID 0: the app's) and counts our own conversions of
// those days. When WeChat fails, our counts come back with the error.
func (s *Service) Report(ctx context.Context, app string, req wxads.ReportRequest) (Report, error) {
	rep := Report{SetID: req.UserActionSetID}
	start, err1 := time.ParseInLocation(time.DateOnly, req.StartDate, gmt8)
	end, err2 := time.ParseInLocation(time.DateOnly, req.EndDate, gmt8)
	if err1 != nil || err2 != nil || end.Before(start) {
		return rep, fmt.Errorf("%w: start_date and end_date must be YYYY-MM-DD with start_date <= end_date", wxads.ErrInvalidInput)
	}
	ours, err := s.dayCounts(ctx, app, start, end.AddDate(0, 0, 1))
	if err != nil {
		return rep, err
	}
	rep.Ours = ours
	_, wx, err := s.app(app)
	if err != nil {
		return rep, err
	}
	if rep.SetID == 0 {
		if rep.SetID, err = s.SetID(ctx, app); err != nil {
			return rep, err
		}
		req.UserActionSetID = rep.SetID
	}
	rep.WeChat, err = wx.client.GetReport(ctx, req)
	if rep.WeChat == nil {
		rep.WeChat = []wxads.ReportRow{}
	}
	return rep, err
}

// dayCounts counts the app's conversions that are or were to be sent, by
// GMT+8 day of occurred_at in [from, to) and action type.
func (s *Service) dayCounts(ctx context.Context, app string, from, to time.Time) ([]DayCount, error) {
	rows, err := s.st.ConversionsOccurred(ctx, app, from, to)
	if err != nil {
		return nil, fmt.Errorf("count conversions of %s by day: %w", app, err)
	}
	type key struct{ date, typ string }
	m := map[key]*DayCount{}
	var keys []key
	for _, r := range rows {
		k := key{r.OccurredAt.In(gmt8).Format(time.DateOnly), r.ActionType}
		d := m[k]
		if d == nil {
			d = &DayCount{Date: k.date, ActionType: r.ActionType}
			m[k] = d
			keys = append(keys, k)
		}
		switch r.Status {
		case StateDelivered:
			d.Delivered++
		case StatePending:
			d.Pending++
		case StateDead:
			d.Dead++
		}
	}
	out := make([]DayCount, 0, len(keys))
	for _, k := range keys {
		out = append(out, *m[k])
	}
	sortDayCounts(out)
	return out, nil
}

func sortDayCounts(d []DayCount) {
	sort.Slice(d, func(i, j int) bool {
		if d[i].Date != d[j].Date {
			return d[i].Date < d[j].Date
		}
		return d[i].ActionType < d[j].ActionType
	})
}
