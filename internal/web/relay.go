package web

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// statusNote is one of the overview's lines on an app's background work
// (the relay to Youshu, the pull of WeChat's data): what waits and what
// failed, so a merchant sees it where it looks every day, not only on
// /metrics.
type statusNote struct {
	ID   string // the element id, for tests and styles
	Text string
	Warn bool // something failed, or has waited too long
}

// relayCounts reads the relay outbox's counts at most every 10 s: they
// group the whole table, and every overview view would ask.
type relayCounts struct {
	mu     sync.Mutex
	at     time.Time
	counts []store.RelayCount
}

func (c *relayCounts) get(ctx context.Context, st store.RelayStore, now time.Time) ([]store.RelayCount, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts != nil && now.Sub(c.at) < 10*time.Second {
		return c.counts, nil
	}
	counts, err := st.RelayCounts(ctx)
	if err != nil {
		return nil, err
	}
	if counts == nil {
		counts = []store.RelayCount{}
	}
	c.at, c.counts = now, counts
	return counts, nil
}

// relayNote describes app's relay (rows dead, or the oldest waiting for
// more than 10 min, warn), nil when it does not relay. A store that
// cannot count says so in the line rather than failing the page.
func (d *dashboard) relayNote(ctx context.Context, app *tenant.App, lang string) *statusNote {
	if app.Relay == nil {
		return nil
	}
	counts, err := d.relay.get(ctx, d.srv.Store, d.now())
	if err != nil {
		d.log.Warn("count relay rows for the dashboard", "err", err)
		return &statusNote{ID: "relay", Text: t(lang, "relay_unknown"), Warn: true}
	}
	var pending, dead, delivered int64
	var oldest time.Time
	for _, c := range counts {
		if c.App != app.ID {
			continue
		}
		switch c.Status {
		case store.RelayPending:
			pending += c.N
			if oldest.IsZero() || c.OldestReceived.Before(oldest) {
				oldest = c.OldestReceived
			}
		case store.RelayDead:
			dead += c.N
		case store.RelayDelivered:
			delivered += c.N
		}
	}
	n := func(v int64) string { return groupThousands(strconv.FormatInt(v, 10)) }
	note := &statusNote{ID: "relay"}
	if pending == 0 {
		note.Text = fmt.Sprintf(t(lang, "relay_idle"), n(delivered))
	} else {
		age := d.now().Sub(oldest)
		note.Text = fmt.Sprintf(t(lang, "relay_pending"), n(pending), duration(lang, float64(age.Milliseconds())), n(delivered))
		note.Warn = age > 10*time.Minute
	}
	if dead > 0 {
		note.Text += " " + fmt.Sprintf(t(lang, "relay_dead"), n(dead), app.ID)
		note.Warn = true
	}
	return note
}
