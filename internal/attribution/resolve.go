package attribution

import (
	"encoding/json"
	"errors"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// Resolve finds the ad click of every event of b (Find), before the batch
// goes to the store: it sets each event's ClickID and AdID, and adds a
// quarantine entry to b.BadClicks for each distinct malformed click id
// (the event itself is stored, without a click). The store keeps the
// touches of the events it stores (store.Flush.PlanTouches).
func Resolve(b *store.EventBatch) {
	b.BadClicks = b.BadClicks[:0]
	var bad map[string]bool
	for i := range b.Events {
		e := &b.Events[i]
		e.ClickID, e.AdID = "", ""
		if e.GdtVid == "" && e.AdInfo == "" && e.QzGdt == "" && e.PageQry == "" {
			continue // the common case: no ad at all
		}
		click, ok, err := Find(Sources{GdtVid: e.GdtVid, AdInfo: e.AdInfo, QzGdt: e.QzGdt, PageQuery: e.PageQry})
		if err != nil {
			var m *Malformed
			if !errors.As(err, &m) {
				m = &Malformed{Field: "click id", Value: e.GdtVid, Rule: err.Error()}
			}
			if bad == nil {
				bad = map[string]bool{}
			}
			if key := m.Field + "\x00" + m.Value; !bad[key] {
				bad[key] = true
				raw, _ := json.Marshal(map[string]string{ // strings always encode
					"field": m.Field, "value": m.Value, "rule": m.Rule,
					"type": e.Type, "page": e.Page, "open_id": e.OpenID, "tracking_id": e.TrackingID,
				})
				b.BadClicks = append(b.BadClicks, event.Quarantined{Type: e.Type, Reason: "malformed click id: " + m.Error(), Raw: raw})
			}
			continue
		}
		if !ok {
			continue
		}
		e.ClickID, e.AdID = click.ClickID, click.AdID
	}
}
