// Package wxfake is a faithful, in-process fake of the parts of WeChat's API
// that shuyuan talks to: the two access-token endpoints (cgi-bin/token and
// cgi-bin/stable_token) and the four family-A marketing calls
// (user_action_sets/add, user_action_sets/get, user_actions/add,
// user_action_set_reports/get). It is an http.Handler, so tests mount it on
// httptest.Server and `shuyuan fakewx` on a real listener.
//
// It follows section 11 of the WeChat ads API spec (wechat-ads-api.md).
// Where the real platform's behaviour is unknown the fake is stricter only
// where that catches our own bugs, and says so in the comment of the check.
// The choices worth knowing:
//
//   - Every answer is HTTP 200 with errcode/errmsg, as WeChat does, except
//     the injected HTTP 502 fault and unknown paths (404).
//   - Click ids: an action counts as "identified" (it increases
//     identified_action_count in the reports) only when trace.click_id is a
//     string of the observed shape ^wx[0-9a-z]{14,16}$ AND the id was
//     registered with Server.AddClick (or Options.IdentifyWellFormed is set),
//     AND the action carried its own action_time. Anything else — no click
//     id, a click id outside trace, a garbage value, a misspelt action_time —
//     still gets errcode 0 and is recorded, just not identified: that is the
//     "silent success" of the real API that the fake reproduces.
//   - A trace.click_id that is present but not a JSON string is rejected
//     with 900351002 (spec §11.12), although users report that the real API
//     swallows `false` there.
//   - CUSTOM actions need custom_action, and actions for a WECHAT* set need
//     user_id.wechat_openid or wechat_unionid (family-B rules).
//   - Validation failures of required fields and limits answer 900351000
//     (business validation); wrong JSON types, missing Content-Type and bad
//     JSON answer 900351002 "JSON string is malformed.".
//   - The body limit (50 KB) and the 1–50 actions limit of user_actions/add
//     are family-B numbers assumed for family A (spec §6); both configurable.
//   - Times: the fake's clock is Options.Now; report days and created_time
//     are cut in GMT+8.
//   - Error messages of classic WeChat codes (< 100000) carry a " rid: …"
//     suffix as the real platform does; clients must not match on the whole
//     text. Marketing messages (9003xxxxx) do not.
//
// The datacube endpoints (datacube.go) follow section 6 of
// wechat-datacube.md: the mini-program getVisitPage, getDailySummary,
// getDailyVisitTrend and getVisitDistribution; the official account's
// getusersummary/getusercumulate, the new article family (from 2025-11-01,
// with is_delay) and the legacy getarticlesummary/getarticletotal/getuserread. They
// check the date format per family (61500), the span and "no later than
// yesterday" rules (61501), readiness by hour (61503 or an empty list or
// is_delay), the token's app kind (40001) and verification (48001). Their
// data is generated deterministically per app and day, so a re-pull gets
// the same answer. Not yet served: weekly/monthly trends, retention,
// portrait, performance, and the 45009 datacube quota.
//
// Inspection: GET /_fake/actions answers every accepted action as JSON;
// DELETE /_fake/actions forgets them; POST /_fake/reset forgets all state
// but the registered apps; POST /_fake/clicks {"click_ids":[...]} registers
// known click ids; POST /_fake/faults {"endpoint":..,"faults":[{"kind":..}]}
// queues scripted faults. The same operations exist as Go methods.
package wxfake
