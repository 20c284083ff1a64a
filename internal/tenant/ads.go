package tenant

import "time"

// Where an app's paid orders come from, for the WeChat Ads conversions.
const (
	// OrderSourceBackend reports orders the merchant's backend marks paid
	// through the data-api (status 1150 and later).
	OrderSourceBackend = "backend"
	// OrderSourceSDK reports the SDK's custom_order events with status
	// payed, for merchants whose backend does not call the data-api.
	OrderSourceSDK = "sdk"
)

// Ads are an app's rules for the WeChat Ads conversion loop. config fills
// in the documented defaults; in the zero value (apps built in code) the
// order source is resolved like config's "auto", the lead action is
// RESERVATION, the retry budget 24 h, and outer_action_id is not sent.
type Ads struct {
	// OrderSource is OrderSourceBackend or OrderSourceSDK (config's "auto"
	// is resolved: backend when the app has data-api credentials).
	OrderSource string
	// LeadEvent is the app-defined SDK event type that is a lead (its
	// props.lead_id names the lead); empty: leads come only through
	// POST /wx/actions/add.
	LeadEvent string
	// LeadAction is the action a lead event is reported as: RESERVATION
	// or CONFIRM_EFFECTIVE_LEADS.
	LeadAction string
	// SendOuterActionID puts the conversion's deterministic id into
	// outer_action_id, so a platform that deduplicates on it absorbs a
	// resend whose first answer was lost.
	SendOuterActionID bool
	// URL is the url of every reported action (mini-programs have no
	// landing URL; WeChat requires one).
	URL string
	// ClassicToken fetches tokens from GET /cgi-bin/token instead of the
	// stable endpoint. Every holder of the app must then share one token.
	ClassicToken bool
	// RetryBudget is how long a conversion is retried before it goes to
	// the dead letters.
	RetryBudget time.Duration
}
