package collect

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// DefaultMaxNewTypes is how many event types of unknown kind an app may
// start storing per local day unless configured (limits.max_new_event_types).
// Apps add custom events a few at a time, with a release.
const DefaultMaxNewTypes = 100

// TypeSource tells the event types of unknown kind an app has stored, each
// with the time it was first received.
type TypeSource func(ctx context.Context, app string) (map[string]time.Time, error)

// StoredTypes is the TypeSource of a store's events.
func StoredTypes(st interface {
	UnknownTypes(ctx context.Context, app string) (map[string]time.Time, error)
}) TypeSource {
	return st.UnknownTypes
}

// TypeGate caps the new event types of unknown kind each app may store per
// local day: anyone holding the public SDK token could otherwise create
// types without end. The behaviours and the SDK's own types never count.
//
// Its state is derived from the stored events: for each app, the unknown
// types stored and how many were first stored on the current local day,
// read on the app's first upload of each day (so a restart resumes the
// day's count) and then kept up to date in memory. Nodes sharing a store
// read the same count each day but do not see each other's admissions in
// between, so together they admit at most nodes × the cap in a day; the
// next day each starts from the truth again. A type admitted whose batch
// then fails to commit stays counted until the next day: the count errs
// towards refusing.
type TypeGate struct {
	src TypeSource
	max int

	mu   sync.Mutex
	apps map[string]*appTypes
}

// appTypes is one app's unknown types, of its local day.
type appTypes struct {
	mu    sync.Mutex
	day   time.Time       // local midnight of the day counted; zero: not read yet
	known map[string]bool // unknown types stored (or admitted) so far
	fresh int             // types first stored on day
}

// NewTypeGate caps new unknown types at maxNew per app and day (at least 1),
// reading what is stored from src.
func NewTypeGate(src TypeSource, maxNew int) *TypeGate {
	return &TypeGate{src: src, max: max(maxNew, 1), apps: map[string]*appTypes{}}
}

// admit decides whether an event of unknown type typ, received at received,
// may be stored for app; if not, the reason names the cap.
func (g *TypeGate) admit(ctx context.Context, app *tenant.App, typ string, received time.Time) (*event.Invalid, error) {
	g.mu.Lock()
	a := g.apps[app.ID]
	if a == nil {
		a = &appTypes{}
		g.apps[app.ID] = a
	}
	g.mu.Unlock()

	a.mu.Lock()
	defer a.mu.Unlock()
	local := received.In(app.Location)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, app.Location)
	if !a.day.Equal(day) {
		stored, err := g.src(ctx, app.ID)
		if err != nil {
			return nil, err
		}
		a.known, a.fresh = make(map[string]bool, len(stored)), 0
		for t, first := range stored {
			a.known[t] = true
			if !first.Before(day) {
				a.fresh++
			}
		}
		a.day = day
	}
	if a.known[typ] {
		return nil, nil
	}
	if a.fresh >= g.max {
		return &event.Invalid{Field: "type", Rule: fmt.Sprintf(
			"%q would be the %s new event type of app %s on %s (%s); at most %d new types a day are stored",
			typ, ordinal(a.fresh+1), app.ID, day.Format("2006-01-02"), app.Location, g.max)}, nil
	}
	a.known[typ] = true
	a.fresh++
	return nil, nil
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
