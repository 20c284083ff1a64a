// Package tenant holds the apps (one per mini-program) a shuyuan instance
// serves and finds them by SDK token, data-api app_id or id.
package tenant

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"
)

// DefaultTimezone is where days are cut unless an app says otherwise.
const DefaultTimezone = "Asia/Shanghai"

// App is one mini-program and its credentials.
type App struct {
	ID       string
	Name     string
	WxAppID  string
	WxSecret string
	SDKToken string
	// DataAPIAppID and DataAPISecret sign the backend's data-api calls.
	DataAPIAppID  string
	DataAPISecret string
	// UserActionSetID is the WeChat Ads data source, 0 until created.
	UserActionSetID   int64
	AttributionWindow time.Duration
	Location          *time.Location
	// Ads are the app's WeChat Ads conversion rules (ads.go).
	Ads Ads
	// Relay is the app's relay to the real Youshu; nil when off, so the
	// write path records nothing and pays nothing.
	Relay *Relay
	// Pull is the daily pull of WeChat's own analysis data; nil when off.
	Pull *Pull
}

// Pull configures an app's daily pull of WeChat's analysis data: the
// mini-program's (with WxAppID's token) when the app has WxSecret, the
// official account's (with its own token) when AccountAppID is set.
type Pull struct {
	AccountAppID  string
	AccountSecret string
	BackfillDays  int // finished days looked at, yesterday included
	Hour          int // local hour from which yesterday is due
}

// Relay are the merchant's real Youshu credentials that accepted data is
// forwarded with.
type Relay struct {
	// BaseURL is the upstream host, without a trailing slash.
	BaseURL string
	// SDKToken is the merchant's Youshu report token; empty: SDK uploads
	// are not relayed.
	SDKToken string
	// DataAPIAppID and DataAPISecret re-sign data-api calls; empty: those
	// are not relayed.
	DataAPIAppID  string
	DataAPISecret string
	// DataSources maps shuyuan's data source ids to the merchant's Youshu
	// ones; an id not listed is relayed as it is.
	DataSources map[string]string
	// KeepDelivered is how long delivered rows stay in the relay outbox.
	KeepDelivered time.Duration
}

// Registry is the set of configured apps.
type Registry struct {
	apps   []*App
	byID   map[string]*App
	tokens [][32]byte // sha256 of each app's SDK token, same order as apps
}

// NewRegistry indexes apps; ids, SDK tokens and data-api app ids must be
// unique.
func NewRegistry(apps []*App) (*Registry, error) {
	r := &Registry{byID: map[string]*App{}}
	dataIDs := map[string]string{}
	tokens := map[string]string{}
	for _, a := range apps {
		if _, dup := r.byID[a.ID]; dup {
			return nil, fmt.Errorf("app %q: id used twice", a.ID)
		}
		if other, dup := tokens[a.SDKToken]; dup && a.SDKToken != "" {
			return nil, fmt.Errorf("app %q: sdk_token also used by app %q", a.ID, other)
		}
		if other, dup := dataIDs[a.DataAPIAppID]; dup && a.DataAPIAppID != "" {
			return nil, fmt.Errorf("app %q: data_api.app_id also used by app %q", a.ID, other)
		}
		if a.Location == nil {
			a.Location = mustShanghai()
		}
		tokens[a.SDKToken] = a.ID
		dataIDs[a.DataAPIAppID] = a.ID
		r.byID[a.ID] = a
		r.apps = append(r.apps, a)
		r.tokens = append(r.tokens, sha256.Sum256([]byte(a.SDKToken)))
	}
	return r, nil
}

// Apps lists the apps in configuration order.
func (r *Registry) Apps() []*App { return r.apps }

// ByID finds an app by its id.
func (r *Registry) ByID(id string) (*App, bool) {
	a, ok := r.byID[id]
	return a, ok
}

// ByToken finds the app an SDK token belongs to. Every configured token is
// compared, in constant time over equal-length digests, so the answer time
// does not tell how much of a token was right or which app matched.
func (r *Registry) ByToken(token string) (*App, bool) {
	if token == "" {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range r.tokens {
		if subtle.ConstantTimeCompare(sum[:], r.tokens[i][:]) == 1 && r.apps[i].SDKToken != "" {
			found = i
		}
	}
	if found < 0 {
		return nil, false
	}
	return r.apps[found], true
}

// ByDataAPIAppID finds the app whose backend signs with this app_id.
func (r *Registry) ByDataAPIAppID(appID string) (*App, bool) {
	if appID == "" {
		return nil, false
	}
	for _, a := range r.apps {
		if a.DataAPIAppID == appID {
			return a, true
		}
	}
	return nil, false
}

func mustShanghai() *time.Location {
	loc, err := time.LoadLocation(DefaultTimezone)
	if err != nil {
		// Without tzdata Shanghai is still a fixed UTC+8 (no DST since 1991).
		return time.FixedZone(DefaultTimezone, 8*3600)
	}
	return loc
}
