-- The overview's figures for the range as a whole: people counted once
-- over the range (not the sum of the days), orders placed and paid in it.
-- $1 time zone, $2 app, $3/$4 UTC bounds. docs/metrics.md ("totals").
WITH {{template "all_orders" .}},
activity AS (
    SELECT count(DISTINCT s.uid) AS visitors,
           count(DISTINCT s.sid) AS sessions,
           CAST(sum(s.page_views) AS BIGINT) AS page_views,
           CAST(sum(s.stay_ms) AS BIGINT) AS stay_ms,
           count(DISTINCT s.uid) FILTER (WHERE s.searches > 0) AS searchers,
           count(DISTINCT s.uid) FILTER (WHERE s.cart_adds > 0) AS cart_users
    FROM {{template "session_rows" .}} s
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4
),
newcomers AS (
    SELECT count(*) AS new_visitors
    FROM {{template "user_rows" .}} u
    WHERE u.app_id = $2 AND u.first_ts >= $3 AND u.first_ts < $4
),
placed AS (
    SELECT count(*) AS orders, count(DISTINCT placer_uid) AS ordering_users
    FROM all_orders
    WHERE placed_at >= $3 AND placed_at < $4
),
paid AS (
    SELECT count(*) AS paid_orders, count(DISTINCT payer_uid) AS paying_users,
           CAST(sum(paid_fen) AS BIGINT) AS gmv_fen
    FROM all_orders
    WHERE paid_at >= $3 AND paid_at < $4
)
SELECT coalesce(a.visitors, 0) AS visitors,
       coalesce(n.new_visitors, 0) AS new_visitors,
       coalesce(a.sessions, 0) AS sessions,
       coalesce(a.page_views, 0) AS page_views,
       coalesce(a.stay_ms, 0) AS stay_ms,
       CAST(round(CAST(a.stay_ms AS DOUBLE PRECISION) / NULLIF(a.visitors, 0)) AS BIGINT) AS avg_stay_ms,
       coalesce(a.searchers, 0) AS searchers,
       coalesce(a.cart_users, 0) AS cart_users,
       coalesce(pl.ordering_users, 0) AS ordering_users,
       coalesce(pl.orders, 0) AS orders,
       coalesce(p.paying_users, 0) AS paying_users,
       coalesce(p.paid_orders, 0) AS paid_orders,
       coalesce(p.gmv_fen, 0) AS gmv_fen,
       CAST(round(CAST(p.gmv_fen AS DOUBLE PRECISION) / NULLIF(p.paid_orders, 0)) AS BIGINT) AS avg_order_fen,
       CAST(p.paying_users AS DOUBLE PRECISION) / NULLIF(a.visitors, 0) AS pay_conversion
FROM activity a
CROSS JOIN newcomers n
CROSS JOIN placed pl
CROSS JOIN paid p
