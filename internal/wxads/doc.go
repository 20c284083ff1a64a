// Package wxads is the client of WeChat's family-A marketing API — the
// four calls user_action_sets/add, user_action_sets/get, user_actions/add
// and user_action_set_reports/get — and the access-token source they need.
//
// The rules it follows come from the WeChat ads API spec (wechat-ads-api.md):
//
//   - Tokens come from POST /cgi-bin/stable_token in normal mode (§7): every
//     replica gets the same token, so replicas and other merchant services
//     cannot revoke each other's. A TokenSource caches the token until
//     expires_in − 300 s and coalesces concurrent misses into one fetch.
//     force_refresh is never sent on its own; TokenSource.ForceRefresh is
//     an operator action for a leaked token.
//   - The classic GET /cgi-bin/token is available (TokenConfig.Classic) for
//     apps whose policy demands it; then exactly one refresher must exist
//     across processes, which the Store and Elector interfaces give: one
//     elected source fetches (and KeepFresh keeps the token fresh ahead),
//     the others read what it stores. shuyuan always elects this way.
//   - WeChat answers HTTP 200 for business errors, so every body is read
//     and a call succeeds only when errcode (if present) and code (if
//     present) are both 0.
//   - On 40001/40014/42001 a call drops its token (compare-and-drop), gets
//     the current one and retries exactly once.
//   - Every failure is classified (Classify) as retry, rate-limited,
//     refresh-token, quota or permanent so the outbox worker can decide
//     between retrying and dead-lettering without knowing error codes.
package wxads
