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
-- The range's session rows, read once: every user in them is a visitor;
-- the rows with an official-account entry are few.
sessions AS MATERIALIZED (
    SELECT s.uid, s.scene, s.chan_refer_app_id, s.chan_custom_id,
           (s.scene IN (1020, 1035, 1043, 1058, 1074, 1082, 1091, 1102, 1157)) AS oa_scene,
           ({{range $i, $a := .Accounts}}{{if $i}} OR {{end}}s.chan_refer_app_id = {{$a}}{{else}}false{{end}}) AS oa_account,
           ({{range $i, $a := .Articles}}{{if $i}} OR {{end}}starts_with(s.chan_custom_id, {{$a}}){{else}}false{{end}}) AS oa_article
    FROM {{template "session_rows" .}} s
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4
),
visitors AS MATERIALIZED (
    SELECT DISTINCT uid FROM sessions
),
entries AS MATERIALIZED (
    SELECT DISTINCT * FROM sessions WHERE oa_scene OR oa_account OR oa_article
),
payers AS (
    SELECT payer_uid AS uid,
           CAST(sum(paid_fen) AS BIGINT) AS gmv_fen,
           max(CASE WHEN union_id IS NOT NULL THEN 1 ELSE 0 END) AS order_union
    FROM all_orders
    WHERE paid_at >= $3 AND paid_at < $4 AND payer_uid IS NOT NULL
    GROUP BY payer_uid
),
-- Each group's users once, and whether they visited: every user of an
-- entry did; of 'all', the buyers who did not visit in the range did not.
members AS (
    SELECT 1 AS grp_order, 'all' AS grp, CAST(NULL AS VARCHAR) AS value, uid, 1 AS visited FROM visitors
    UNION ALL
    SELECT 1, 'all', NULL, p.uid, 0 FROM payers p WHERE NOT EXISTS (SELECT 1 FROM visitors v WHERE v.uid = p.uid)
    UNION ALL
    SELECT DISTINCT 2, 'official_account', CAST(NULL AS VARCHAR), uid, 1 FROM entries
    UNION ALL
    SELECT DISTINCT 3, 'scene', CAST(scene AS VARCHAR), uid, 1 FROM entries WHERE oa_scene
    UNION ALL
    SELECT DISTINCT 4, 'account', chan_refer_app_id, uid, 1 FROM entries WHERE chan_refer_app_id IS NOT NULL
    UNION ALL
    SELECT DISTINCT 5, 'article', chan_custom_id, uid, 1 FROM entries WHERE oa_article
),
known AS (
    SELECT u.uid FROM {{template "user_rows" .}} u WHERE u.app_id = $2 AND u.union_id IS NOT NULL
    UNION
    SELECT uid FROM payers WHERE order_union = 1
)
SELECT m.grp AS "group", m.value,
       count(*) FILTER (WHERE m.visited = 1) AS visitors,
       count(*) FILTER (WHERE m.visited = 1 AND k.uid IS NOT NULL) AS union_visitors,
       count(p.uid) AS buyers,
       count(p.uid) FILTER (WHERE k.uid IS NOT NULL) AS union_buyers,
       coalesce(CAST(sum(p.gmv_fen) AS BIGINT), 0) AS gmv_fen,
       CAST(count(p.uid) FILTER (WHERE k.uid IS NOT NULL) AS DOUBLE PRECISION) / NULLIF(count(p.uid), 0) AS union_buyer_share
FROM members m
LEFT JOIN payers p ON p.uid = m.uid
LEFT JOIN known k ON k.uid = m.uid
GROUP BY m.grp_order, m.grp, m.value
ORDER BY m.grp_order, visitors DESC, m.value
