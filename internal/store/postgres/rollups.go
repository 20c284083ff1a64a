package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// rollupVersion names the definition of the roll-ups in rollupStatements.
// Bump it whenever that definition changes: a store whose rollup_state
// names another version is rebuilt from the events when a node opens it,
// unless ensureRollups can bring it up to date in place: a new version
// whose tables follow from the roll-ups already there adds its fill to
// upgradeFills.
const rollupVersion = 10

// arraySQL writes names as a PostgreSQL text array literal.
func arraySQL(names []string) string {
	q := make([]string, len(names))
	for i, t := range names {
		q[i] = "'" + strings.ReplaceAll(t, "'", "''") + "'"
	}
	return "ARRAY[" + strings.Join(q, ", ") + "]::text[]"
}

// rollupStatements returns the statements that add the events of evTable
// to the roll-up tables: the embedded store's definition
// (internal/store/duckdb/rollups.go) in PostgreSQL's SQL, with
// hashtextextended(x, 0) as the 64-bit hash the analyses' SQL uses here.
// internal/analysis tests that the analyses give the same figures from
// these as from the raw events, and on both stores.
func rollupStatements(evTable string) []string {
	const users = `INSERT INTO rollup_users AS u
SELECT app_id, hashtextextended(user_key, 0), min(ts), max(union_id)
FROM {ev} e
WHERE kind = 'behaviour' AND user_key IS NOT NULL
GROUP BY 1, 2
ON CONFLICT (app_id, uid) DO UPDATE
SET first_ts = least(u.first_ts, excluded.first_ts), union_id = greatest(u.union_id, excluded.union_id)
WHERE excluded.first_ts < u.first_ts OR excluded.union_id > u.union_id
   OR (u.union_id IS NULL AND excluded.union_id IS NOT NULL)`

	// cart_adds and cart_units leave out remove_from_cart: a removal is not
	// an add-to-cart, whatever the SDK calls its event.
	// The sessions' and the pages' rows feed the day counts (migration
	// 0013) and the sessions' the channels' range counts as they go in:
	// sessionCounts and pageDayCounts derive them from the rows
	// inserted, not from the events again.
	sessions := `WITH grouped AS (
SELECT e.app_id,
       {hour:e.ts} AS hour,
       CASE WHEN e.tracking_id IS NOT NULL THEN hashtextextended(e.tracking_id, 0) END AS sid,
       hashtextextended(e.user_key, 0) AS uid,
       e.chan_id, e.scene, e.chan_refer_app_id, e.chan_custom_id,
       CASE WHEN e.chan_custom_id IS NOT NULL THEN e.context_id END AS context_id,
       e.guide_id, e.room_id, e.shop_id, e.shop_name,
       CASE WHEN e.click_id IS NOT NULL THEN coalesce(e.ad_id, '') END AS ad_id,
       count(*) AS events,
       count(*) FILTER (WHERE e.type = 'browse_wxapp_page') AS page_views,
       coalesce(sum(e.stay_ms) FILTER (WHERE e.type = 'leave_wxapp_page'), 0) AS stay_ms,
       count(*) FILTER (WHERE e.type = 'page_share_app_message') AS shares,
       count(*) FILTER (WHERE e.type = 'search') AS searches,
       count(*) FILTER (WHERE e.type = 'expose_sku_component') AS exposures,
       count(*) FILTER (WHERE e.type = 'trigger_sku_component') AS clicks,
       count(*) FILTER (WHERE e.type = 'browse_sku_page') AS detail_views,
       count(*) FILTER (WHERE e.type = 'add_to_cart' AND e.action_type IS DISTINCT FROM 'remove_from_cart') AS cart_adds,
       coalesce(sum(e.sku_num) FILTER (WHERE e.type = 'add_to_cart' AND e.action_type IS DISTINCT FROM 'remove_from_cart'), 0) AS cart_units
FROM {ev} e
WHERE e.kind = 'behaviour' AND e.user_key IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14
),
-- The chan_custom levels are read from the contexts of the grouped rows
-- (a few per session), not looked up for every event.
s AS (
INSERT INTO rollup_sessions
SELECT g.app_id, g.hour, g.sid, g.uid, g.chan_id, g.scene, g.chan_refer_app_id, g.chan_custom_id,
       c.context->'chan'->'chan_custom'->>'chan_custom_cat_1',
       c.context->'chan'->'chan_custom'->>'chan_custom_cat_2',
       c.context->'chan'->'chan_custom'->>'chan_custom_cat_3',
       g.guide_id, g.room_id, g.shop_id, g.shop_name,
       sum(g.events), sum(g.page_views), sum(g.stay_ms), sum(g.shares), sum(g.searches), sum(g.exposures),
       sum(g.clicks), sum(g.detail_views), sum(g.cart_adds), sum(g.cart_units),
       g.ad_id
FROM grouped g
LEFT JOIN event_contexts c ON c.app_id = g.app_id AND c.context_id = g.context_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 26
ORDER BY 2
RETURNING app_id, hour, sid, uid, page_views, stay_ms, searches, cart_adds,
          chan_id, scene, chan_custom_cat_1, chan_custom_cat_2, chan_custom_cat_3, chan_custom_id
),
` + sessionCounts("s")

	// The SKUs' rows per user and hour feed their hourly sums and range
	// counts (migration 0014) and are not kept (from roll-up version 8):
	// no analysis reads rollup_skus on PostgreSQL. Only a store rolled up
	// before version 5 holds rows in it, which version 5's in-place fill
	// reads (skuRangesFromRollups) and version 8's empties. Inserting
	// them cost ~10 % of a roll-up round.
	skus := `WITH k AS (
` + skuRows + `
),
` + skuRangeCounts("k")

	const orders = `INSERT INTO rollup_order_events
SELECT app_id, ts, order_id, order_status, pay_fen, tracking_id, user_key, union_id,
       chan_id, scene, chan_refer_app_id, chan_custom_id, guide_id, room_id, shop_id, shop_name, order_fen
FROM {ev} e
WHERE kind = 'behaviour' AND type = 'custom_order' AND order_id IS NOT NULL
ORDER BY ts`

	// The orders of the slice's order events (sdkOrdersSQL).
	sdkOrders := sdkOrdersSQL(`SELECT DISTINCT app_id, order_id FROM {ev} e
    WHERE kind = 'behaviour' AND type = 'custom_order' AND order_id IS NOT NULL`)

	// Events per hour and type; the user only for types outside
	// event.KnownTypes, whose users rollup_event_users keeps as bits.
	const types = `INSERT INTO rollup_event_types
SELECT app_id,
       {hour:ts} AS hour,
       type, kind,
       CASE WHEN user_key IS NOT NULL AND array_position({known}, type) IS NULL THEN hashtextextended(user_key, 0) END AS uid,
       count(*)
FROM {ev} e
GROUP BY 1, 2, 3, 4, 5
ORDER BY 2`

	const typeUsers = `INSERT INTO rollup_event_users
SELECT app_id,
       {hour:ts} AS hour,
       hashtextextended(user_key, 0) AS uid,
       bit_or(CAST(1 AS bigint) << (array_position({known}, type) - 1))
FROM {ev} e
WHERE user_key IS NOT NULL AND array_position({known}, type) IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY 2`

	// rollup_step_hours follows from the rows inserted, not from the
	// events again.
	steps := `WITH s AS (
INSERT INTO rollup_step_events
SELECT app_id, ts,
       CASE WHEN user_key IS NOT NULL THEN hashtextextended(user_key, 0) END,
       CASE WHEN tracking_id IS NOT NULL THEN hashtextextended(tracking_id, 0) END,
       type, sku_id, action_type, order_status, keyword, share_to, page,
       guide_id, room_id, ad_id, shop_id, chan_id
FROM {ev} e
WHERE type = ANY({steps})
ORDER BY ts
RETURNING app_id, ts, uid, type, action_type, guide_id, room_id, ad_id, shop_id, chan_id
)
INSERT INTO rollup_step_hours ` + stepHourRows("s")

	pages := `WITH p AS (
INSERT INTO rollup_pages
SELECT app_id,
       {hour:ts} AS hour,
       page,
       CASE WHEN user_key IS NOT NULL THEN hashtextextended(user_key, 0) END,
       count(*)
FROM {ev} e
WHERE type = 'browse_wxapp_page' AND page IS NOT NULL
GROUP BY 1, 2, 3, 4
ORDER BY 2
RETURNING app_id, hour, page, uid, views
),
` + pageDayCounts("p")

	// The searches of the sessions whose searches or SKU clicks the slice
	// holds, after steps has added those to rollup_step_events.
	searches := searchesSQL(`SELECT DISTINCT app_id, CASE WHEN tracking_id IS NOT NULL THEN hashtextextended(tracking_id, 0) END AS sid
    FROM {ev} e WHERE ` + searchTypes)

	out := []string{users, sessions, skus, orders, sdkOrders, types, typeUsers, steps, searches, pages}
	r := rollupPlaceholders(evTable)
	for i, q := range out {
		out[i] = r.Replace(q)
	}
	return out
}

// rollupPlaceholders fills in the roll-up statements' placeholders: {ev},
// the events to add (a table or a parenthesised slice of events), the
// arrays of known and step types, and the hour buckets.
func rollupPlaceholders(evTable string) *strings.Replacer {
	return strings.NewReplacer("{ev}", evTable, "{known}", arraySQL(event.KnownTypes), "{steps}", arraySQL(event.StepTypes),
		"{hour:e.ts}", store.Postgres.TimeBucket("e.ts", 3600), "{hour:ts}", store.Postgres.TimeBucket("ts", 3600))
}

// skuRows groups the SKU events of {ev} per app, hour, SKU and user, in
// the columns of rollup_skus. cart_adds and cart_units leave out
// remove_from_cart.
const skuRows = `SELECT app_id,
       {hour:ts} AS hour,
       sku_id,
       hashtextextended(user_key, 0) AS uid,
       max(sku_name) AS sku_name,
       count(*) FILTER (WHERE type = 'expose_sku_component') AS exposures,
       count(*) FILTER (WHERE type = 'trigger_sku_component') AS clicks,
       count(*) FILTER (WHERE type = 'browse_sku_page') AS detail_views,
       count(*) FILTER (WHERE type = 'add_to_cart' AND action_type IS DISTINCT FROM 'remove_from_cart') AS cart_adds,
       coalesce(sum(sku_num) FILTER (WHERE type = 'add_to_cart' AND action_type IS DISTINCT FROM 'remove_from_cart'), 0) AS cart_units
FROM {ev} e
WHERE kind = 'behaviour' AND user_key IS NOT NULL AND sku_id IS NOT NULL
  AND type IN ('expose_sku_component', 'trigger_sku_component', 'browse_sku_page', 'add_to_cart')
GROUP BY 1, 2, 3, 4`

// The day counts' tables (migration 0013), emptied together.
const dayCountTables = `rollup_hour_sums, rollup_presence, rollup_gaps`

// The populations of rollup_presence come in two kinds, told apart by
// pop. The day populations (1 to 5, migration 0013) are counted per day:
// their gaps are capped at 25 hours, a day's longest. The range
// populations are counted over a whole range: their gaps are capped at
// smallint's largest, more hours than any range an analysis takes
// (analysis.MaxDays). They are the users a SKU was exposed to and those
// who added it to their cart (6 and 7, migration 0014), and per value of
// each channel dimension its visitors (8 to 13) and sessions (14 to 19,
// migration 0016), in the order of channelColumns.
const (
	dayPops     = `pop < 6`
	skuPops     = `pop IN (6, 7)`
	channelPops = `pop BETWEEN 8 AND 19`
	dayGapCap   = 25
	rangeGapCap = 32767
)

// gapCap is the cap of the gaps of a presence, by its population (column
// pop).
var gapCap = fmt.Sprintf(`CASE WHEN %s THEN %d ELSE %d END`, dayPops, dayGapCap, rangeGapCap)

// channelColumns are the columns of rollup_sessions the channels analysis
// counts visitors and sessions per value of, as text, in the order of its
// dimensions: the visitors of the i-th are population 8+i, its sessions
// 14+i.
var channelColumns = []string{"chan_id", "CAST(scene AS text)", "chan_custom_cat_1", "chan_custom_cat_2", "chan_custom_cat_3", "chan_custom_id"}

// sessionCounts adds, from the rollup_sessions rows of s, the day
// counts' hourly sums (page views, stay time), the presences of
// populations 1 to 4 (visitors, sessions, searchers, add-to-cart users)
// and those of the channels' values (8 to 19), with their gaps
// (presenceCounts). It ends a statement that begins "WITH s AS (...),".
func sessionCounts(s string) string {
	return "sums AS (\n" + sessionSums(s) + "\n),\n" + presenceCounts(sessionMembers(s)+"\n    UNION ALL\n    "+channelMembers(s))
}

// channelMembers selects the members of populations 8 to 19 that the
// rollup_sessions rows of s saw: per channel dimension, the user and the
// session with the row's value as the dimension, '=' and the value, or ”
// for none (NULL and ” are different values to the channels analysis).
func channelMembers(s string) string {
	var vals []string
	for _, key := range []string{"x.uid", "x.sid"} {
		for _, col := range channelColumns {
			pop := 8 + len(vals)
			vals = append(vals, fmt.Sprintf(`(CAST(%d AS smallint), coalesce('=' || %s, ''), %s)`, pop, col, key))
		}
	}
	return `SELECT x.app_id, v.pop, v.dim, v.key, x.hour
    FROM ` + s + ` x
    CROSS JOIN LATERAL (VALUES ` + strings.Join(vals, ",\n        ") + `) v(pop, dim, key)
    WHERE v.key IS NOT NULL`
}

// pageDayCounts adds, from the rollup_pages rows of p, the hourly views
// per page and the presences of population 5 (a page's users), as
// sessionCounts does.
func pageDayCounts(p string) string {
	return "sums AS (\n" + pageSums(p) + "\n),\n" + presenceCounts(pageMembers(p))
}

// skuRangeCounts adds, from the rows of k (in rollup_skus' columns), the hourly sums
// per SKU (rollup_sku_hours) and the presences of populations 6 and 7,
// as sessionCounts does.
func skuRangeCounts(k string) string {
	return "sums AS (\n" + skuSums(k) + "\n),\n" + presenceCounts(skuMembers(k))
}

// sessionSums adds the page views and stay time of the rollup_sessions
// rows of s per hour (page NULL).
func sessionSums(s string) string {
	return `INSERT INTO rollup_hour_sums
SELECT app_id, hour, CAST(NULL AS text), sum(page_views), sum(stay_ms) FROM ` + s + ` GROUP BY 1, 2`
}

// skuSums adds the rows of k (in rollup_skus' columns) per hour and SKU.
func skuSums(k string) string {
	return `INSERT INTO rollup_sku_hours
SELECT app_id, hour, sku_id, max(sku_name), sum(exposures), sum(clicks), sum(detail_views), sum(cart_units)
FROM ` + k + ` GROUP BY 1, 2, 3`
}

// skuMembers selects the members of populations 6 (the users a SKU was
// exposed to) and 7 (those who added it to their cart) that the
// rollup_skus rows of k saw, as sessionMembers does.
func skuMembers(k string) string {
	return `SELECT x.app_id, v.pop, x.sku_id AS dim, x.uid AS key, x.hour
    FROM ` + k + ` x
    CROSS JOIN LATERAL (VALUES (CAST(6 AS smallint), x.exposures > 0), (CAST(7 AS smallint), x.cart_adds > 0)) v(pop, seen)
    WHERE v.seen`
}

// pageSums adds the views of the rollup_pages rows of p per hour and page.
func pageSums(p string) string {
	return `INSERT INTO rollup_hour_sums
SELECT app_id, hour, page, sum(views), 0 FROM ` + p + ` GROUP BY 1, 2, 3`
}

// sessionMembers selects the members of populations 1 to 4 (app_id, pop,
// dim, key, hour) that the rollup_sessions rows of s saw.
func sessionMembers(s string) string {
	return `SELECT x.app_id, v.pop, '' AS dim, v.key, x.hour
    FROM ` + s + ` x
    CROSS JOIN LATERAL (VALUES (CAST(1 AS smallint), x.uid), (CAST(2 AS smallint), x.sid),
                               (CAST(3 AS smallint), CASE WHEN x.searches > 0 THEN x.uid END),
                               (CAST(4 AS smallint), CASE WHEN x.cart_adds > 0 THEN x.uid END)) v(pop, key)
    WHERE v.key IS NOT NULL`
}

// pageMembers selects the members of population 5 (a page's users) that
// the rollup_pages rows of p saw, as sessionMembers does.
func pageMembers(p string) string {
	return `SELECT app_id, CAST(5 AS smallint) AS pop, page AS dim, uid AS key, hour FROM ` + p + ` WHERE uid IS NOT NULL`
}

// gapSince is the gap of a presence (column hour) after the one at prev:
// whole hours, capped at limit, and limit when prev is NULL.
func gapSince(prev, limit string) string {
	return `CAST(least(` + limit + `, coalesce(extract(epoch FROM hour - ` + prev + `) / 3600, ` + limit + `)) AS smallint)`
}

// presenceCounts adds the presences members selects (app_id, pop, dim,
// key, hour) that are not there yet, each with its gap capped at its
// population's cap (gapCap), and counts them in rollup_gaps. One look-up
// of the primary key finds the member's latest presence. When it is at or
// before the new hour (events come in order, nearly always), it is the one
// before, and none can follow: a gap further than the cap comes out as the
// cap all the same. Only when it is later (a late event) are the
// neighbours looked up within the cap: the one before, and the one after,
// whose gap shrinks to the hours since the new one and whose count moves.
// The statement reads the presences as they were before it, so the new
// ones are neither their own neighbours nor moved twice. It ends a
// statement that begins "WITH ...,".
func presenceCounts(members string) string {
	// same matches the presences p of the member of x.
	same := func(x string) string {
		return fmt.Sprintf(`p.app_id = %[1]s.app_id AND p.pop = %[1]s.pop AND p.dim = %[1]s.dim AND p.key = %[1]s.key`, x)
	}
	return `m AS (
    SELECT app_id, pop, dim, key, hour, ` + gapCap + ` AS cap
    FROM (SELECT DISTINCT app_id, pop, dim, key, hour FROM (` + members + `) x) d
),
l AS (
    SELECT m.*, t.hour AS latest
    FROM m
    LEFT JOIN LATERAL (SELECT p.hour FROM rollup_presence p WHERE ` + same("m") + `
                       ORDER BY p.hour DESC LIMIT 1) t ON true
),
n AS (
    SELECT * FROM (
        SELECT l.*,
               CASE WHEN l.latest IS NULL OR l.latest <= l.hour THEN l.latest
                    ELSE (SELECT p.hour FROM rollup_presence p
                          WHERE ` + same("l") + `
                            AND p.hour <= l.hour AND p.hour >= l.hour - make_interval(hours => l.cap)
                          ORDER BY p.hour DESC LIMIT 1) END AS before
        FROM l
    ) b
    WHERE before IS DISTINCT FROM hour
),
added AS (
    INSERT INTO rollup_presence (app_id, pop, dim, key, hour, gap)
    SELECT app_id, pop, dim, key, hour,
           ` + gapSince(`greatest(lag(hour) OVER (PARTITION BY app_id, pop, dim, key ORDER BY hour), before)`, "cap") + `
    FROM n
    RETURNING app_id, pop, dim, hour, gap
),
next AS (
    SELECT n.app_id, n.pop, n.dim, n.key, n.hour AS new_hour,
           CASE WHEN n.latest > n.hour THEN
               (SELECT min(p.hour) FROM rollup_presence p
                WHERE ` + same("n") + ` AND p.hour > n.hour AND p.hour <= n.hour + make_interval(hours => n.cap)) END AS hour
    FROM n
),
followed AS (
    SELECT x.app_id, x.pop, x.dim, x.key, x.hour, p.gap AS old,
           least(p.gap, CAST(extract(epoch FROM x.hour - x.prev) / 3600 AS smallint)) AS gap
    FROM (SELECT app_id, pop, dim, key, hour, max(new_hour) AS prev
          FROM next WHERE hour IS NOT NULL GROUP BY 1, 2, 3, 4, 5) x
    JOIN rollup_presence p ON ` + same("x") + ` AND p.hour = x.hour
),
moved AS (
    UPDATE rollup_presence p SET gap = f.gap
    FROM followed f
    WHERE f.gap <> f.old AND ` + same("f") + ` AND p.hour = f.hour
),
delta AS (
    SELECT app_id, pop, dim, hour, gap, 1 AS n FROM added
    UNION ALL
    SELECT app_id, pop, dim, hour, old, -1 FROM followed WHERE gap <> old
    UNION ALL
    SELECT app_id, pop, dim, hour, gap, 1 FROM followed WHERE gap <> old
)
INSERT INTO rollup_gaps AS g
SELECT app_id, pop, dim, hour, gap, sum(n) FROM delta GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (app_id, pop, dim, hour, gap) DO UPDATE SET n = g.n + excluded.n`
}

// dayCountsFromRollups fills the day counts' tables (version 4) from the
// roll-ups they derive from, for a store rolled up before them: what the
// slices would have written, with every gap computed at once. It empties
// them first, so that a fill never adds to rows already there (a store
// whose roll-up version was set back by hand; an older build refuses the
// newer schema and cannot rebuild beside them). That empties the range
// populations too: skuRangesFromRollups and channelsFromRollups must
// follow it.
var dayCountsFromRollups = []string{
	`TRUNCATE ` + dayCountTables,
	sessionSums("rollup_sessions"),
	pageSums("rollup_pages"),
	presencesFrom(sessionMembers("rollup_sessions") + "\n      UNION ALL\n      " + pageMembers("rollup_pages")),
	gapsFromPresences(dayPops),
}

// skuRangesFromRollups fills the SKUs' range counts (version 5) from
// rollup_skus, as dayCountsFromRollups fills the day counts, emptying
// what there may be of them first.
var skuRangesFromRollups = []string{
	`DELETE FROM rollup_gaps WHERE ` + skuPops,
	`DELETE FROM rollup_presence WHERE ` + skuPops,
	`TRUNCATE rollup_sku_hours`,
	skuSums("rollup_skus"),
	presencesFrom(skuMembers("rollup_skus")),
	gapsFromPresences(skuPops),
}

// channelsFromRollups fills the channels' range counts (version 7) from
// rollup_sessions, as skuRangesFromRollups fills the SKUs'.
var channelsFromRollups = []string{
	`DELETE FROM rollup_gaps WHERE ` + channelPops,
	`DELETE FROM rollup_presence WHERE ` + channelPops,
	presencesFrom(channelMembers("rollup_sessions")),
	gapsFromPresences(channelPops),
}

// presencesFrom adds the presences members selects, each once (a member
// seen in several roll-up rows of an hour), every gap computed at once and
// capped at its population's cap.
func presencesFrom(members string) string {
	return `INSERT INTO rollup_presence (app_id, pop, dim, key, hour, gap)
SELECT app_id, pop, dim, key, hour, ` + gapSince("lag(hour) OVER (PARTITION BY app_id, pop, dim, key ORDER BY hour)", gapCap) + `
FROM (SELECT DISTINCT app_id, pop, dim, key, hour FROM (` + members + `) m) x`
}

// gapsFromPresences counts the presences of the populations pops per hour
// and gap into rollup_gaps.
func gapsFromPresences(pops string) string {
	return `INSERT INTO rollup_gaps SELECT app_id, pop, dim, hour, gap, count(*) FROM rollup_presence WHERE ` + pops + ` GROUP BY 1, 2, 3, 4, 5`
}

// searchTypes are the events rollup_searches derives from; migration
// 0015's partial index on rollup_step_events has the same predicate, so
// that the planner can use it.
const searchTypes = `type IN ('search', 'trigger_sku_component')`

// searchesSQL computes again, from all of their searches and SKU clicks in
// rollup_step_events, the rollup_searches rows of the sessions touched
// selects (app_id, sid): each search with its first click before the
// session's next search, as search.sql numbers them. A late search can
// take a click from the search before it, so the whole session is
// computed again. Events without a session (sid NULL) are one session per
// app, as search.sql's window makes them.
func searchesSQL(touched string) string {
	return `WITH touched AS MATERIALIZED (
    ` + touched + `
),
gone AS (
    DELETE FROM rollup_searches r USING touched t WHERE r.app_id = t.app_id AND r.sid = t.sid
),
gone_unsessioned AS (
    DELETE FROM rollup_searches r
    WHERE r.sid IS NULL AND r.app_id IN (SELECT app_id FROM touched WHERE sid IS NULL)
),
ev AS (
    SELECT r.app_id, r.sid, r.ts, r.type, r.uid, r.keyword
    FROM rollup_step_events r JOIN touched t ON t.app_id = r.app_id AND t.sid = r.sid
    WHERE r.` + searchTypes + `
    UNION ALL
    SELECT r.app_id, r.sid, r.ts, r.type, r.uid, r.keyword
    FROM rollup_step_events r
    WHERE r.sid IS NULL AND r.` + searchTypes + ` AND r.app_id IN (SELECT app_id FROM touched WHERE sid IS NULL)
),
numbered AS (
    SELECT app_id, sid, ts, type, uid,
           CASE WHEN type = 'search' THEN ` + store.Postgres.Lower("trim(keyword)") + ` END AS keyword,
           sum(CASE WHEN type = 'search' THEN 1 ELSE 0 END) OVER (
               PARTITION BY app_id, sid ORDER BY ts, type
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n
    FROM ev
)
INSERT INTO rollup_searches
SELECT app_id, sid,
       max(ts) FILTER (WHERE type = 'search'),
       max(uid) FILTER (WHERE type = 'search'),
       max(keyword) FILTER (WHERE type = 'search'),
       min(ts) FILTER (WHERE type = 'trigger_sku_component')
FROM numbered
WHERE n > 0
GROUP BY app_id, sid, n
ORDER BY 3`
}

// searchesFromRollups fills rollup_searches (version 6) from
// rollup_step_events, for a store rolled up before it, emptying it first.
var searchesFromRollups = []string{
	`TRUNCATE rollup_searches`,
	searchesSQL(`SELECT DISTINCT app_id, sid FROM rollup_step_events WHERE ` + searchTypes),
}

// sdkOrdersSQL computes again, from all their events in
// rollup_order_events, the rollup_orders rows of the orders that touched
// selects (app_id, order_id): a late event may be an order's first. An
// order is placed by its first event (by time, status, tracking id, as the
// analyses number them), paid at its first payed, refunded at its first
// refund.
func sdkOrdersSQL(touched string) string {
	// Windows over each order's events and DISTINCT ON its first, not
	// joins of per-order parts: the planner guessed a few hundred orders
	// for any set and joined thousands with nested loops. Rows go in by
	// their last event, the order the analyses read them in: stored by
	// order id, the analyses reading them took a fifth longer.
	return `WITH touched AS (
    ` + touched + `
),
oe AS (
    SELECT r.* FROM rollup_order_events r JOIN touched t ON t.app_id = r.app_id AND t.order_id = r.order_id
)
INSERT INTO rollup_orders
SELECT * FROM (
SELECT DISTINCT ON (app_id, order_id)
       app_id, order_id,
       max(ts) OVER o AS last_ts,
       min(ts) OVER o,
       min(ts) FILTER (WHERE order_status = 'payed') OVER o,
       min(ts) FILTER (WHERE order_status = 'refund') OVER o,
       coalesce(max(pay_fen) FILTER (WHERE order_status = 'payed') OVER o, 0),
       max(pay_fen) FILTER (WHERE order_status = 'refund') OVER o,
       user_key,
       CASE WHEN count(*) FILTER (WHERE order_status = 'payed') OVER o > 0 THEN first_value(user_key) OVER p END,
       max(union_id) OVER o,
       chan_id, scene, chan_refer_app_id, chan_custom_id, guide_id, room_id, shop_id, shop_name
FROM oe
WINDOW o AS (PARTITION BY app_id, order_id),
       p AS (PARTITION BY app_id, order_id ORDER BY order_status IS NOT DISTINCT FROM 'payed' DESC, ts, tracking_id
             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
ORDER BY app_id, order_id, ts, order_status, tracking_id
) x
ORDER BY last_ts
ON CONFLICT (app_id, order_id) DO UPDATE SET
    last_ts = excluded.last_ts, placed_at = excluded.placed_at, paid_at = excluded.paid_at,
    refunded_at = excluded.refunded_at, payed_fen = excluded.payed_fen, refund_event_fen = excluded.refund_event_fen,
    placer = excluded.placer, payer = excluded.payer, union_id = excluded.union_id, chan_id = excluded.chan_id,
    scene = excluded.scene, chan_refer_app_id = excluded.chan_refer_app_id, chan_custom_id = excluded.chan_custom_id,
    guide_id = excluded.guide_id, room_id = excluded.room_id, shop_id = excluded.shop_id, shop_name = excluded.shop_name`
}

// RollUp adds the flushes committed since the mark to the roll-ups and
// moves the mark, in one transaction (store.EventStore).
//
// With several writers, flush numbers do not commit in order: flush 7 may
// commit before flush 6, and a mark moved to 7 would skip 6 for ever. So
// the mark only moves up to a barrier: every flush holds a shared advisory
// lock from before it takes its number until it ends, and the barrier
// takes that lock alone for an instant and reads the last number handed
// out. Every flush with a number up to it has then committed or rolled
// back; a later flush gets a later number. Roll-ups themselves take turns
// under a lock of their own, on whatever node runs them.
//
// Readers (every analysis) call it too, so that an answer counts every
// acknowledged event even between two rounds of the elected roller; most of
// them find nothing new by one read without any lock.
func (s *Store) RollUp(ctx context.Context) error {
	var last, rolled int64
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event_flush_seq),
		(SELECT rolled_seq FROM rollup_state)`).Scan(&last, &rolled); err != nil {
		return unavailable("roll-ups: read the mark", err)
	}
	if rolled >= last {
		return nil // no flush has begun since the mark
	}
	upto, err := s.barrier(ctx)
	if err != nil {
		return err
	}
	// In slices of about rollupSlice events, each its own transaction with
	// its mark: a backlog (after a copy, or a long pause of the elected
	// node) never makes one statement run past the statement timeout, and
	// a crash keeps what was rolled up.
	for {
		done, err := s.rollUpSlice(ctx, upto)
		if err != nil || done {
			return err
		}
	}
}

// rollupSlice is about how many events one roll-up transaction adds.
const rollupSlice = 300_000

// rollUpSlice adds the flushes after the mark, up to upto and about
// rollupSlice events, and moves the mark; done is true once the mark has
// reached upto.
func (s *Store) rollUpSlice(ctx context.Context, upto int64) (done bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		rolled, version, err := lockRollups(ctx, tx)
		if err != nil {
			return err
		}
		if rolled >= upto {
			done = true // another node rolled them up
			return nil
		}
		if version != rollupVersion {
			// A node of a newer build has brought the roll-ups to its
			// version while this one still runs (a rolling upgrade).
			// Rolling up now would leave out what that version added, for
			// good: leave the events to the newer nodes.
			done = true
			return nil
		}
		// The flush at which the slice is full, through the seq index;
		// none means the rest fits.
		end := upto
		var cut *int64
		if err := tx.QueryRow(ctx, `SELECT seq FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq OFFSET $3 LIMIT 1`,
			rolled, upto, rollupSlice).Scan(&cut); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return unavailable("roll-ups: cut a slice", err)
		}
		if cut != nil && *cut < upto {
			end = *cut
		}
		done = end >= upto
		if err := rollUpEvents(ctx, tx, fmt.Sprintf("(SELECT * FROM events WHERE seq > %d AND seq <= %d)", rolled, end)); err != nil { // our own integers
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE rollup_state SET rolled_seq = $1`, end); err != nil {
			return unavailable("roll-ups: write state", err)
		}
		return nil
	})
	return done, err
}

// lockRollups takes the roll-ups' lock for tx and reads their mark and
// version.
func lockRollups(ctx context.Context, tx pgx.Tx) (rolled int64, version int, err error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockRollUp); err != nil {
		return 0, 0, unavailable("roll-ups: lock", err)
	}
	if err := tx.QueryRow(ctx, `SELECT rolled_seq, version FROM rollup_state`).Scan(&rolled, &version); err != nil {
		return 0, 0, unavailable("roll-ups: read state (migrations not applied?)", err)
	}
	return rolled, version, nil
}

// rollUpEvents adds the events ev selects to the roll-ups, in tx, which
// holds the roll-ups' lock.
func rollUpEvents(ctx context.Context, tx pgx.Tx, ev string) error {
	for _, q := range rollupStatements(ev) {
		if _, err := tx.Exec(ctx, q); err != nil {
			return unavailable("roll up events", err)
		}
	}
	return nil
}

// rollUpDetached adds to the roll-ups the events of table, a partition
// retention has detached, that they do not hold yet: those after the mark.
// Once detached they are out of events, where RollUp would have found
// them; without this, an event stored late for a day past the retention,
// or any event while the roll-ups lag behind, would be dropped with its
// partition before it was ever counted. The mark stays: the events after
// it that are still in events are RollUp's. The events it adds leave the
// table in the same transaction, so that a run again (the drop failed), or
// the table attached again for a late event, never adds them twice.
// It runs on conn, retention's, so that it needs no second connection of
// the pool.
func rollUpDetached(ctx context.Context, conn *pgxpool.Conn, table string) error {
	return beginTx(ctx, conn, func(tx pgx.Tx) error {
		rolled, version, err := lockRollups(ctx, tx)
		if err != nil {
			return err
		}
		var late bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE seq > $1)`, rolled).Scan(&late); err != nil {
			return unavailable("look for events of "+table+" not rolled up", err)
		}
		if !late {
			return nil
		}
		if version != rollupVersion {
			// The roll-ups of a newer build (a rolling upgrade): this
			// build's statements would leave out what that version adds.
			return fmt.Errorf("%w: %s holds events not rolled up, and the roll-ups are at version %d, this build's %d: "+
				"a node of that build drops it", store.ErrUnavailable, table, version, rollupVersion)
		}
		if err := rollUpEvents(ctx, tx, fmt.Sprintf("(SELECT * FROM %s WHERE seq > %d)", table, rolled)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE seq > $1`, rolled); err != nil {
			return unavailable("empty "+table+" of the events rolled up", err)
		}
		return nil
	})
}

// barrier returns the highest flush number such that every flush with a
// number up to it has ended.
func (s *Store) barrier(ctx context.Context) (int64, error) {
	var upto int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, lockFlushes)
		b.Queue(`SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event_flush_seq`).
			QueryRow(func(r pgx.Row) error { return r.Scan(&upto) })
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return unavailable("roll-ups: barrier", err)
		}
		return nil
	})
	return upto, err
}

// ensureRollups starts the roll-ups again from the first event when they
// were built by another roll-up definition, or never (the migration
// creates them empty): it empties them and sets the mark to 0, and RollUp
// rebuilds them in slices, as it catches up any backlog. Versions from
// upgradeBase on are brought up to date in place instead, by upgradeFills.
// It runs under the migration lock that conn holds.
func (s *Store) ensureRollups(ctx context.Context, conn *sql.Conn) error {
	var version int // 0: no state row, never built
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM rollup_state`).Scan(&version); err != nil {
		return fmt.Errorf("roll-ups: read state: %w", err)
	}
	if version == rollupVersion {
		return nil
	}
	if version > rollupVersion {
		// A newer build brought them up (a bump without a migration, which
		// the schema check would not catch): rebuilding them to this
		// build's version would empty what the newer nodes keep, and its
		// nodes would then leave the events to this one.
		return fmt.Errorf("%w: its roll-ups are of version %d and this binary builds version %d; run the newer shuyuan",
			store.ErrSchemaNewer, version, rollupVersion)
	}
	if version >= upgradeBase && version < rollupVersion && rollupVersion == upgradeBase+len(upgradeFills) {
		for v := version + 1; v <= rollupVersion; v++ {
			if err := upgradeRollups(ctx, conn, v, upgradeFills[v-upgradeBase-1]...); err != nil {
				return err
			}
		}
		return nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("roll-ups: begin rebuild: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, q := range []string{`TRUNCATE rollup_users, rollup_sessions, rollup_skus, rollup_order_events, rollup_orders,
		rollup_event_types, rollup_event_users, rollup_step_events, rollup_step_hours, rollup_pages, ` + dayCountTables + `, rollup_sku_hours, rollup_searches, rollup_state`,
		`INSERT INTO rollup_state (version, built_at, rolled_seq) VALUES ($1, $2, 0)`} {
		args := []any{}
		if strings.Contains(q, "$1") {
			args = []any{rollupVersion, time.Now().UTC()}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("roll-ups: start again: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("roll-ups: commit the new start: %w", err)
	}
	return nil
}

// upgradeBase is the oldest roll-up version brought up to date in place.
// A new version that cannot be derived from the roll-ups of the one before
// becomes the base (with upgradeFills emptied): older stores are then
// rolled up again from the events.
const upgradeBase = 2

// upgradeFills are the fills of versions upgradeBase+1 to rollupVersion, in
// order: each of those versions only added tables that follow from the
// roll-ups of the version before (ensureRollups). TestUpgradeFillsCover
// holds that there is one per version.
var upgradeFills = [][]string{
	// 3: rollup_orders, from rollup_order_events: one statement over every
	// order ever placed.
	{sdkOrdersSQL(`SELECT DISTINCT app_id, order_id FROM rollup_order_events`)},
	// 4: the day counts, from rollup_sessions and rollup_pages.
	dayCountsFromRollups,
	// 5: the SKUs' range counts, from rollup_skus.
	skuRangesFromRollups,
	// 6: rollup_searches, from rollup_step_events.
	searchesFromRollups,
	// 7: the channels' range counts, from rollup_sessions.
	channelsFromRollups,
	// 8: rollup_skus is no longer kept (the SKUs' rows feed their sums
	// and range counts without it): what earlier versions wrote goes,
	// after version 5's fill has read it.
	{`TRUNCATE rollup_skus`},
	// 9: rollup_step_hours, filled by version 10's fill, which replaces it.
	{},
	// 10: rollup_step_hours with the values a funnel is split by, from
	// rollup_step_events (emptied first: a store of version 9 or set back
	// by hand holds some), analysed so that the planner need not wait for
	// autovacuum.
	{`TRUNCATE rollup_step_hours`, stepHoursFromRollups, `ANALYZE rollup_step_hours`},
}

// stepHourRows groups rows of rollup_step_events in from into the rows of
// rollup_step_hours: per type, user, hour and the values a funnel is
// split by, the earliest and latest. add_to_cart leaves out
// remove_from_cart, as a funnel step without a qualifier does.
func stepHourRows(from string) string {
	return `SELECT app_id, type, ` + store.Postgres.TimeBucket("ts", 3600) + ` AS hour, uid, min(ts), max(ts),
       guide_id, room_id, ad_id, shop_id, chan_id
FROM ` + from + `
WHERE uid IS NOT NULL
  AND (type <> 'add_to_cart' OR action_type IS DISTINCT FROM 'remove_from_cart')
GROUP BY 1, 2, 3, 4, 7, 8, 9, 10, 11
ORDER BY 3`
}

// stepHoursFromRollups fills rollup_step_hours (version 10) from
// rollup_step_events, whose rows are the step types' events: one row per
// type, user and hour, as a slice of them all would give.
var stepHoursFromRollups = `INSERT INTO rollup_step_hours ` + stepHourRows("rollup_step_events")

// upgradeRollups brings the roll-ups one version up in place, to, by the
// statements fill that derive what that version added from what the
// roll-ups already hold, so that a store that rolled up millions of
// events need not roll them up again (167 s for 10 M on this machine,
// against about 1 s for rollup_orders, 14 s for the day counts and 27 s
// for the SKUs' range counts). It holds the roll-up lock, so that no
// slice, on any node, runs meanwhile.
func upgradeRollups(ctx context.Context, conn *sql.Conn, to int, fill ...string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("roll-ups: begin upgrade to %d: %w", to, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockRollUp); err != nil {
		return fmt.Errorf("roll-ups: lock for the upgrade to %d: %w", to, err)
	}
	// Statements over every row ever rolled up, once: the pool's
	// statement timeout (60 s by default) would stop a large store from
	// opening at all.
	if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return fmt.Errorf("roll-ups: upgrade to %d: %w", to, err)
	}
	for _, q := range fill {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("roll-ups: upgrade to %d: %w", to, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rollup_state SET version = $1`, to); err != nil {
		return fmt.Errorf("roll-ups: upgrade to %d: %w", to, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("roll-ups: commit the upgrade to %d: %w", to, err)
	}
	return nil
}

var _ store.EventStore = (*Store)(nil)
