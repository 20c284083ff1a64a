package conversion

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
)

// rules are an app's conversion rules with the defaults applied.
type rules struct {
	orderSource string
	leadEvent   string
	leadAction  string
	url         string
	outer       bool
	window      time.Duration
	budget      time.Duration
}

// DefaultURL is the url of actions of an app without ads.url or wx_appid.
const DefaultURL = "http://www.qq.com"

// DefaultRetryBudget is how long a conversion is retried by default.
const DefaultRetryBudget = 24 * time.Hour

func rulesOf(a *tenant.App) rules {
	r := rules{
		orderSource: a.Ads.OrderSource, leadEvent: a.Ads.LeadEvent, leadAction: a.Ads.LeadAction,
		url: a.Ads.URL, outer: a.Ads.SendOuterActionID, window: a.AttributionWindow, budget: a.Ads.RetryBudget,
	}
	if r.orderSource == "" {
		r.orderSource = tenant.OrderSourceSDK
		if a.DataAPIAppID != "" {
			r.orderSource = tenant.OrderSourceBackend
		}
	}
	if r.leadAction == "" {
		r.leadAction = wxads.ActionReservation
	}
	if r.url == "" {
		r.url = DefaultURL
		if a.WxAppID != "" {
			r.url = "https://servicewechat.com/" + a.WxAppID + "/"
		}
	}
	if r.window <= 0 {
		r.window = attribution.DefaultWindow
	}
	if r.budget <= 0 {
		r.budget = DefaultRetryBudget
	}
	return r
}

// candidate is a fact that may become a conversion, before attribution.
type candidate struct {
	kind, ref, actionType, source string
	user                          attribution.User
	at                            time.Time
	valueFen                      int64
}

// OnPaid is the store.PaidHook of the data-api: inside the add_order
// transaction, every order made paid for the first time becomes a
// COMPLETE_ORDER conversion of apps whose orders come from the backend.
func (s *Service) OnPaid(ctx context.Context, tx store.Tx, paid []store.PaidOrder) error {
	byApp := map[string][]candidate{}
	var order []string
	for _, p := range paid {
		a, ok := s.apps.ByID(p.AppID)
		if !ok || !Enabled(a) || rulesOf(a).orderSource != tenant.OrderSourceBackend {
			continue
		}
		if _, seen := byApp[p.AppID]; !seen {
			order = append(order, p.AppID)
		}
		byApp[p.AppID] = append(byApp[p.AppID], candidate{
			kind: KindOrder, ref: p.ExternalID, actionType: wxads.ActionCompleteOrder, source: SourceBackend,
			user: attribution.User{OpenID: p.OpenID, UnionID: p.UnionID}, at: p.PaidTime, valueFen: p.PaymentFen,
		})
	}
	if err := tx.LockUsers(ctx, candidateUsers(byApp)); err != nil {
		return err
	}
	for _, app := range order {
		if err := s.record(ctx, tx, app, byApp[app]); err != nil {
			return err
		}
	}
	return nil
}

// candidateUsers are the users of candidates, by app, for Tx.LockUsers.
func candidateUsers(byApp map[string][]candidate) []store.UserKey {
	var out []store.UserKey
	for app, cs := range byApp {
		for _, c := range cs {
			out = append(out, store.UserKey{App: app, OpenID: c.user.OpenID, UnionID: c.user.UnionID})
		}
	}
	return out
}

// OnOrderPaid is OnPaid in the shape of order.Options.OnPaid.
func (s *Service) OnOrderPaid(ctx context.Context, tx store.Tx, _ *tenant.App, paid []store.PaidOrder) error {
	return s.OnPaid(ctx, tx, paid)
}

// OnEvents is the store.EventHook of the collector's writes: inside the
// events' transaction, the SDK's payed custom_order events (apps whose
// orders come from the SDK) become COMPLETE_ORDER conversions and the app's
// lead event becomes its lead action. Batches re-sent by the SDK make the
// same ids, which the outbox ignores. The ad touches of the batches then
// credit the conversions they came too late for (creditLate).
func (s *Service) OnEvents(ctx context.Context, tx store.Tx, batches []*store.EventBatch) error {
	byApp := map[string][]candidate{}
	var order []string
	for _, b := range batches {
		a, ok := s.apps.ByID(b.AppID)
		if !ok || !Enabled(a) {
			continue
		}
		r := rulesOf(a)
		sdkOrders := r.orderSource == tenant.OrderSourceSDK
		if !sdkOrders && r.leadEvent == "" {
			continue
		}
		for i := range b.Events {
			e := &b.Events[i]
			c, ok := fromEvent(e, r, sdkOrders)
			if !ok {
				continue
			}
			if _, seen := byApp[b.AppID]; !seen {
				order = append(order, b.AppID)
			}
			byApp[b.AppID] = append(byApp[b.AppID], c)
		}
	}
	late, lateOrder := lateTouches(s, batches)
	// One lock call for both: the users whose conversions this flush
	// records, and those whose touches may credit earlier ones.
	users := candidateUsers(byApp)
	for app, l := range late {
		for _, id := range l.opens {
			users = append(users, store.UserKey{App: app, OpenID: id})
		}
		for _, id := range l.unions {
			users = append(users, store.UserKey{App: app, UnionID: id})
		}
	}
	if err := tx.LockUsers(ctx, users); err != nil {
		return err
	}
	for _, app := range order {
		if err := s.record(ctx, tx, app, byApp[app]); err != nil {
			return err
		}
	}
	return s.creditLate(ctx, tx, late, lateOrder)
}

// late are an app's users with ad touches in a flush, and the span their
// conversions may lie in.
type late struct {
	opens, unions []string
	seen          map[string]bool
	from, to      time.Time
}

// lateTouches gathers, per app, the users with ad touches in batches.
func lateTouches(s *Service, batches []*store.EventBatch) (map[string]*late, []string) {
	byApp := map[string]*late{}
	var order []string
	for _, b := range batches {
		a, ok := s.apps.ByID(b.AppID)
		if !ok || !Enabled(a) {
			continue
		}
		window := rulesOf(a).window
		for i := range b.Events {
			e := &b.Events[i]
			if e.ClickID == "" || (e.OpenID == "" && e.UnionID == "") {
				continue
			}
			l := byApp[b.AppID]
			if l == nil {
				l = &late{seen: map[string]bool{}, from: e.Time, to: e.Time.Add(window)}
				byApp[b.AppID] = l
				order = append(order, b.AppID)
			}
			if e.OpenID != "" && !l.seen["o"+e.OpenID] {
				l.seen["o"+e.OpenID] = true
				l.opens = append(l.opens, e.OpenID)
			}
			if e.UnionID != "" && !l.seen["u"+e.UnionID] {
				l.seen["u"+e.UnionID] = true
				l.unions = append(l.unions, e.UnionID)
			}
			l.from = minTime(l.from, e.Time)
			l.to = maxTime(l.to, e.Time.Add(window))
		}
	}
	return byApp, order
}

// creditLate credits conversions recorded as unattributed to the ad
// touches of this flush that came too late for them: a click still
// queued in the SDK when the backend's paid order arrived, or an upload
// that simply came after the order. A user's order or lead that occurred
// after one of these touches and inside the window is credited to the
// last touch before it, as it would have been had the touch come first,
// and queued once (the row's status guards it); the action keeps the time
// the order was paid.
func (s *Service) creditLate(ctx context.Context, tx store.Tx, byApp map[string]*late, order []string) error {
	for _, app := range order {
		l := byApp[app]
		rows, err := tx.UnattributedConversions(ctx, app, l.opens, l.unions, l.from, l.to)
		if err != nil {
			return fmt.Errorf("late touches of %s: %w", app, err)
		}
		if len(rows) == 0 {
			continue
		}
		a, _ := s.apps.ByID(app)
		r := rulesOf(a)
		probes := make([]attribution.Probe, len(rows))
		for i, c := range rows {
			probes[i] = attribution.Probe{User: attribution.User{OpenID: c.OpenID, UnionID: c.UnionID}, At: c.OccurredAt}
		}
		touches, err := attribution.LastTouches(ctx, tx, app, probes, r.window)
		if err != nil {
			return fmt.Errorf("late touches of %s: %w", app, err)
		}
		now := s.now().UTC()
		var credited []store.Conversion
		for i, c := range rows {
			if touches[i].ClickID == "" {
				continue
			}
			cand := candidate{
				kind: c.Kind, ref: c.RefID, actionType: c.ActionType, source: c.Source,
				user: attribution.User{OpenID: c.OpenID, UnionID: c.UnionID}, at: c.OccurredAt, valueFen: c.ValueFen,
			}
			conv := s.build(app, r, cand, touches[i], c.SetID, now)
			conv.ID = c.ID // as recorded, whatever rules changed since
			row, err := conv.row(now, r.budget)
			if err != nil {
				return err
			}
			credited = append(credited, row)
		}
		if len(credited) == 0 {
			continue
		}
		n, err := tx.AttributeConversions(ctx, credited)
		if err != nil {
			return fmt.Errorf("credit late touches of %s: %w", app, err)
		}
		if n > 0 {
			s.log.Info("conversions credited to late ad touches", "app", app, "conversions", n)
			s.kick(app)
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// fromEvent turns an SDK event into a candidate when a rule applies.
func fromEvent(e *event.Event, r rules, sdkOrders bool) (candidate, bool) {
	user := attribution.User{OpenID: e.OpenID, UnionID: e.UnionID}
	switch {
	case sdkOrders && e.Type == event.CustomOrder && e.OrderStatus == "payed" && e.OrderID != "":
		return candidate{
			kind: KindOrder, ref: e.OrderID, actionType: wxads.ActionCompleteOrder, source: SourceSDK,
			user: user, at: e.Time, valueFen: e.PayFen,
		}, true
	case r.leadEvent != "" && e.Type == r.leadEvent:
		return candidate{
			kind: KindLead, ref: leadID(e), actionType: r.leadAction, source: SourceEvent, user: user, at: e.Time,
		}, true
	}
	return candidate{}, false
}

// leadID is the lead event's props.lead_id; without one, the event's own
// content key, so that re-sends of the event are still one lead.
func leadID(e *event.Event) string {
	var p struct {
		LeadID json.RawMessage `json:"lead_id"`
	}
	if json.Unmarshal(e.Props, &p) == nil && len(p.LeadID) > 0 {
		var s string
		if json.Unmarshal(p.LeadID, &s) == nil && s != "" {
			return s
		}
		if n := strings.TrimSpace(string(p.LeadID)); n != "null" && n != `""` {
			return n // a number, as written
		}
	}
	return "event:" + strconv.FormatInt(e.Key, 16)
}

// record attributes the candidates of one app and writes them to the outbox
// in tx; ids already there are left alone.
func (s *Service) record(ctx context.Context, tx store.Tx, appID string, cands []candidate) error {
	a, _ := s.apps.ByID(appID)
	r := rulesOf(a)
	probes := make([]attribution.Probe, len(cands))
	for i, c := range cands {
		probes[i] = attribution.Probe{User: c.user, At: c.at}
	}
	touches, err := attribution.LastTouches(ctx, tx, appID, probes, r.window)
	if err != nil {
		return fmt.Errorf("attribute conversions of %s: %w", appID, err)
	}
	now := s.now().UTC()
	convs := make([]Conversion, 0, len(cands))
	for i, c := range cands {
		convs = append(convs, s.build(appID, r, c, touches[i], 0, now))
	}
	n, err := insert(ctx, tx, convs, now, r.budget)
	if err != nil {
		return fmt.Errorf("outbox of %s: %w", appID, err)
	}
	if n > 0 {
		// The worker's claim waits for this transaction's commit: it goes
		// through the same serialised write path.
		s.kick(appID)
	}
	return nil
}

// build makes the conversion of a candidate credited to touch.
func (s *Service) build(appID string, r rules, c candidate, touch attribution.Touch, setID int64, now time.Time) Conversion {
	conv := Conversion{
		ID: ID(appID, c.ref, c.actionType), AppID: appID, Kind: c.kind, RefID: c.ref, ActionType: c.actionType,
		Source: c.source, OpenID: c.user.OpenID, UnionID: c.user.UnionID, OccurredAt: c.at.UTC(),
		ValueFen: c.valueFen, Touch: touch, SetID: setID,
	}
	if touch.ClickID == "" {
		return conv
	}
	at := conv.OccurredAt
	if at.After(now) {
		// Never send a time in the future (spec §6): a fact stamped ahead
		// of our clock is reported as happening now.
		at = now
	}
	act := &wxads.Action{
		ActionTime: at.Unix(), ActionType: c.actionType, URL: r.url, Trace: wxads.Trace{ClickID: touch.ClickID},
	}
	if c.valueFen > 0 {
		act.ActionParam = &wxads.ActionParam{Value: c.valueFen}
	}
	if r.outer {
		act.OuterActionID = conv.ID
	}
	conv.Action = act
	return conv
}
