-- Users known by union_id, and those who came in through the official
-- account. A session row is an official-account entry when its scene is one
-- of the official-account scenes below, its chan_refer_app_id is one of
-- ?accounts=, or its chan_custom_id starts with one of ?articles=.
-- Rows: 'all' (every visitor of the range, and every buyer), then
-- 'official_account' (the users with an entry), and per entry 'scene',
-- 'account' (chan_refer_app_id) and 'article' (chan_custom_id). A user's
-- union_id is known when any of their events carried one or an order they
-- paid in the range names one (backend user_info.union_id).
WITH {{template "all_orders" .}},
-- The range's session rows: raw events read once for both the visitors
-- and the entries, the roll-up by a scan for each (inlined), which cost
-- less than materializing all of its rows once for both.
sessions AS {{if not .Raw}}NOT {{end}}MATERIALIZED (
    SELECT s.uid, s.scene, s.chan_refer_app_id, s.chan_custom_id
    FROM {{template "session_rows" .}} s
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4
),
-- PostgreSQL reads them in order from an index of the roll-up by (app_id,
-- uid, hour) instead of hashing every session row (its migration 0017).
visitors AS MATERIALIZED (
    SELECT DISTINCT uid FROM sessions
),
-- The session rows with an official-account entry (few). PostgreSQL reads
-- them through a partial index of the roll-up whose predicate repeats
-- these scenes (its migration 0017): a scene added here must go there too,
-- or the index no longer serves the query (the answers stay right;
-- TestOfficialAccountSceneIndex holds the two lists alike). Not made
-- distinct: each group below takes its own distinct pairs.
entries AS MATERIALIZED (
    SELECT * FROM (
        SELECT s.uid, s.scene, s.chan_refer_app_id, s.chan_custom_id,
               (s.scene IN (1020, 1035, 1043, 1058, 1074, 1082, 1091, 1102, 1157)) AS oa_scene,
               ({{range $i, $a := .Accounts}}{{if $i}} OR {{end}}s.chan_refer_app_id = {{$a}}{{else}}false{{end}}) AS oa_account,
               ({{range $i, $a := .Articles}}{{if $i}} OR {{end}}starts_with(s.chan_custom_id, {{$a}}){{else}}false{{end}}) AS oa_article
        FROM sessions s
    ) x
    WHERE oa_scene OR oa_account OR oa_article
),
payers AS MATERIALIZED (
    SELECT payer_uid AS uid,
           CAST(sum(paid_fen) AS BIGINT) AS gmv_fen,
           max(CASE WHEN union_id IS NOT NULL THEN 1 ELSE 0 END) AS order_union
    FROM all_orders
    WHERE paid_at >= $3 AND paid_at < $4 AND payer_uid IS NOT NULL
    GROUP BY payer_uid
),
-- The users whose events carried a union_id (one row each). A user is
-- known when they are here or paid an order naming one (payers'
-- order_union): tested beside each join instead of a union of the two
-- sets, which cost a pass to make it distinct.
known AS MATERIALIZED (
    SELECT u.uid FROM {{template "user_rows" .}} u WHERE u.app_id = $2 AND u.union_id IS NOT NULL
),
-- The range's visitors and how many of them are known, in one pass.
visitor_counts AS MATERIALIZED (
    SELECT count(*) AS visitors,
           count(*) FILTER (WHERE k.uid IS NOT NULL OR p.order_union = 1) AS union_visitors
    FROM visitors v
    LEFT JOIN known k ON k.uid = v.uid
    LEFT JOIN payers p ON p.uid = v.uid
),
-- The users with an entry once each, with what the groups count of them:
-- each group joins these (17 k at 10 M events) instead of joining every
-- member row to the buyers and to the known users.
entry_users AS MATERIALIZED (
    SELECT e.uid,
           p.uid IS NOT NULL AS buyer,
           (k.uid IS NOT NULL OR p.order_union = 1) AS known,
           p.gmv_fen
    FROM (SELECT DISTINCT uid FROM entries) e
    LEFT JOIN payers p ON p.uid = e.uid
    LEFT JOIN known k ON k.uid = e.uid
),
-- The users of each entry group once (every one of them visited), made
-- distinct on the pair alone: the group's name is added after.
members AS (
    SELECT 2 AS grp_order, 'official_account' AS grp, CAST(NULL AS VARCHAR) AS value, uid FROM entry_users
    UNION ALL
    SELECT 3, 'scene', CAST(scene AS VARCHAR), uid FROM (SELECT DISTINCT scene, uid FROM entries WHERE oa_scene) x
    UNION ALL
    SELECT 4, 'account', chan_refer_app_id, uid FROM (SELECT DISTINCT chan_refer_app_id, uid FROM entries WHERE chan_refer_app_id IS NOT NULL) x
    UNION ALL
    SELECT 5, 'article', chan_custom_id, uid FROM (SELECT DISTINCT chan_custom_id, uid FROM entries WHERE oa_article) x
),
-- 'all' from whole sets (its visitors, and every buyer of the range,
-- whether they visited or not), without joining each visitor to the
-- buyers; each entry group by its members.
groups AS (
    SELECT 1 AS grp_order, 'all' AS grp, CAST(NULL AS VARCHAR) AS value,
           (SELECT visitors FROM visitor_counts) AS visitors,
           (SELECT union_visitors FROM visitor_counts) AS union_visitors,
           count(*) AS buyers,
           count(*) FILTER (WHERE k.uid IS NOT NULL OR p.order_union = 1) AS union_buyers,
           coalesce(CAST(sum(p.gmv_fen) AS BIGINT), 0) AS gmv_fen
    FROM payers p
    LEFT JOIN known k ON k.uid = p.uid
    UNION ALL
    SELECT m.grp_order, m.grp, m.value,
           count(*), count(*) FILTER (WHERE u.known),
           count(*) FILTER (WHERE u.buyer), count(*) FILTER (WHERE u.buyer AND u.known),
           coalesce(CAST(sum(u.gmv_fen) AS BIGINT), 0)
    FROM members m
    JOIN entry_users u ON u.uid = m.uid
    GROUP BY m.grp_order, m.grp, m.value
)
SELECT grp AS "group", value, visitors, union_visitors, buyers, union_buyers, gmv_fen,
       CAST(union_buyers AS DOUBLE PRECISION) / NULLIF(buyers, 0) AS union_buyer_share
FROM groups
ORDER BY grp_order, visitors DESC, value
