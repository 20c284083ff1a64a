// Package event is the behaviour model of the Youshu mini-program SDK: the
// envelope every event travels in, the common and per-behaviour props, and
// the rules that decide whether an event is stored or quarantined.
package event

import (
	"encoding/json"
	"time"
)

// Kind says where an event type comes from.
type Kind string

// The kinds of event types.
const (
	// KindBehaviour is one of the 14 behaviours of the Youshu spec.
	KindBehaviour Kind = "behaviour"
	// KindSDK is an event the SDK emits about itself (element, sdk_config_info, ...).
	KindSDK Kind = "sdk"
	// KindUnknown is any other type; it is stored as sent.
	KindUnknown Kind = "unknown"
)

// The 14 behaviours of the spec.
const (
	AppLaunch           = "app_launch"
	AppShow             = "app_show"
	ExitWxapp           = "exit_wxapp"
	BrowseWxappPage     = "browse_wxapp_page"
	LeaveWxappPage      = "leave_wxapp_page"
	PageShareAppMessage = "page_share_app_message"
	PagePullDownRefresh = "page_pull_down_refresh"
	PageReachBottom     = "page_reach_bottom"
	Search              = "search"
	ExposeSKUComponent  = "expose_sku_component"
	TriggerSKUComponent = "trigger_sku_component"
	BrowseSKUPage       = "browse_sku_page"
	AddToCart           = "add_to_cart"
	CustomOrder         = "custom_order"
)

// Behaviours lists the 14 behaviours in the order of the spec.
var Behaviours = []string{
	AppLaunch, AppShow, ExitWxapp, BrowseWxappPage, LeaveWxappPage,
	PageShareAppMessage, PagePullDownRefresh, PageReachBottom, Search,
	ExposeSKUComponent, TriggerSKUComponent, BrowseSKUPage, AddToCart, CustomOrder,
}

// SDKTypes are the events the SDK sends about itself.
var SDKTypes = []string{"element", "sdk_config_info", "logid_events", "sdk_error_log", "sdk api exec error"}

// StepTypes are the behaviours of a shopper's path, which the funnel and
// search analyses read most: the roll-ups keep a narrow copy of their
// events (about a sixth of all), so those analyses need not scan the rest.
var StepTypes = []string{AppLaunch, Search, TriggerSKUComponent, BrowseSKUPage, AddToCart, CustomOrder, PageShareAppMessage}

// KnownTypes are the behaviours, then the SDK's own types. The roll-ups
// keep which of them a user's events had as a bitmask, bit i standing for
// KnownTypes[i]; a store rebuilds them when the list changes.
var KnownTypes = append(append([]string{}, Behaviours...), SDKTypes...)

var sdkTypes = setOf(SDKTypes)

// knownTypes maps each known type to itself, to reuse its string.
var knownTypes = func() map[string]string {
	m := make(map[string]string, len(KnownTypes))
	for _, t := range KnownTypes {
		m[t] = t
	}
	return m
}()

var behaviourSet = setOf(Behaviours)

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// KindOf classifies an event type.
func KindOf(typ string) Kind {
	switch {
	case behaviourSet[typ]:
		return KindBehaviour
	case sdkTypes[typ]:
		return KindSDK
	default:
		return KindUnknown
	}
}

// Order statuses of custom_order.
var orderStatuses = map[string]bool{
	"give_order": true, "cancel_pay": true, "cancel_give_order": true,
	"pay": true, "payed": true, "refund": true,
}

// ctxIndex tells the props the SDK spreads over every event of a batch at
// upload time (spec A.3), numbered; -1 for any other key. They describe SDK
// state, not the event, and are stored once per distinct value instead of
// once per event.
func ctxIndex(k []byte) int {
	switch string(k) {
	case "wx_user":
		return 0
	case "chan":
		return 1
	case "system_info":
		return 2
	case "framework_info":
		return 3
	case "sr_sdk_version":
		return 4
	case "idenTifier":
		return 5
	case "component":
		return 6
	case "activity_info":
		return 7
	case "refer_page":
		return 8
	case "store_info":
		return 9
	}
	return -1
}

const numCtx = 10

// Event is one accepted event, with the typed fields the analyses read and
// the raw JSON of everything the SDK sent.
type Event struct {
	Type       string
	Kind       Kind
	From       string
	TrackingID string
	LogID      int64
	Time       time.Time // client time (props.time), UTC
	// Key identifies the event across SDK re-sends: tracking_id, type, time
	// and the event's own props (not the context, not log_id).
	Key int64

	UserKey  string // open_id, else local_id
	OpenID   string
	UnionID  string
	LocalID  string
	UserID   string
	WxAppID  string
	Page     string // route without query
	PageQry  string // query string of page, if any
	Title    string
	Refer    string
	Scene    int32
	ChanID   string
	ReferApp string
	GuideID  string
	RoomID   string
	ShopID   string
	ShopName string
	GdtVid   string
	AdInfo   string // weixinadinfo as sent
	QzGdt    string
	CustomID string // chan.chan_custom.chan_custom_id
	StoreID  string // store_info.external_store_id

	SKUID       string
	SPUID       string
	SKUName     string
	PriceFen    int64 // sale.current_price
	SKUNum      int64
	ActionType  string // add_to_cart action_type
	Keyword     string
	StayMS      int64
	ShareTo     string
	OrderID     string
	OrderStatus string
	OrderFen    int64 // sum of sub_orders[].order_amt
	PayFen      int64 // sum of sub_orders[].pay_amt

	// ClickID and AdID are the ad click the event came by (attribution.Resolve
	// fills them before the event is stored): the click id sent to WeChat
	// and weixinadinfo's ad id; "" when there is none or it is malformed.
	ClickID string
	AdID    string

	// Props is the event's own props as JSON (everything but the context keys).
	Props json.RawMessage
	// Context is the JSON object of the context keys, shared by the events
	// of one upload; ContextID is its hash.
	Context   json.RawMessage
	ContextID int64
}

// Quarantined is an event that failed validation: kept with its raw JSON and
// the reason, never dropped.
type Quarantined struct {
	Type   string // as far as it could be read
	Reason string
	Raw    json.RawMessage
}
