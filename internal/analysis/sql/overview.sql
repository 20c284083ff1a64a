-- Per local day of the range: visitors, sessions, page views, stay time,
-- searchers, add-to-cart users (roll-ups or raw events, see session_rows),
-- new visitors (first behaviour event ever on that day), and the orders of
-- all_orders by the day they were placed and the day they were paid.
-- docs/metrics.md defines every column.
WITH {{template "days" .}},
{{template "all_orders" .}},
calendar AS (
    SELECT DISTINCT day FROM days
),
{{- if .PGRollups}}
-- PostgreSQL: a member counts on a day at the first hour of the day they
-- were seen in, the one whose gap exceeds the hours since the day began
-- (store/postgres migration 0013); page views and stay time from the
-- hourly sums.
{{template "day_cut" .}},
members AS (
    SELECT c.day,
           sum(g.n) FILTER (WHERE g.pop = 1) AS visitors,
           sum(g.n) FILTER (WHERE g.pop = 2) AS sessions,
           sum(g.n) FILTER (WHERE g.pop = 3) AS searchers,
           sum(g.n) FILTER (WHERE g.pop = 4) AS cart_users
    FROM rollup_gaps g
    JOIN cut c ON c.hour = g.hour
    WHERE g.app_id = $2 AND g.pop BETWEEN 1 AND 4 AND g.dim = '' AND g.hour >= $3 AND g.hour < $4
      AND g.gap > c.into_day
    GROUP BY c.day
),
sums AS (
    SELECT d.day, sum(h.views) AS page_views, sum(h.stay_ms) AS stay_ms
    FROM (SELECT hour, sum(views) AS views, sum(stay_ms) AS stay_ms
          FROM rollup_hour_sums
          WHERE app_id = $2 AND page IS NULL AND hour >= $3 AND hour < $4
          GROUP BY hour) h
    JOIN days d ON d.hour = h.hour
    GROUP BY d.day
),
activity AS (
    SELECT m.day, CAST(m.visitors AS BIGINT) AS visitors, CAST(m.sessions AS BIGINT) AS sessions,
           CAST(s.page_views AS BIGINT) AS page_views, CAST(s.stay_ms AS BIGINT) AS stay_ms,
           CAST(coalesce(m.searchers, 0) AS BIGINT) AS searchers, CAST(coalesce(m.cart_users, 0) AS BIGINT) AS cart_users
    FROM members m
    JOIN sums s ON s.day = m.day
),
{{- else}}
activity AS (
    SELECT d.day,
           count(DISTINCT s.uid) AS visitors,
           count(DISTINCT s.sid) AS sessions,
           CAST(sum(s.page_views) AS BIGINT) AS page_views,
           CAST(sum(s.stay_ms) AS BIGINT) AS stay_ms,
           count(DISTINCT s.uid) FILTER (WHERE s.searches > 0) AS searchers,
           count(DISTINCT s.uid) FILTER (WHERE s.cart_adds > 0) AS cart_users
    FROM {{template "session_rows" .}} s
    JOIN days d ON d.hour = s.hour
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4
    GROUP BY d.day
),
{{- end}}
newcomers AS (
    SELECT d.day, count(*) AS new_visitors
    FROM {{template "user_rows" .}} u
    JOIN days d ON d.hour = {{bucket "u.first_ts" .Bucket}}
    WHERE u.app_id = $2 AND u.first_ts >= $3 AND u.first_ts < $4
    GROUP BY d.day
),
placed AS (
    SELECT CAST(placed_at AT TIME ZONE $1 AS DATE) AS day,
           count(*) AS orders,
           count(DISTINCT placer_uid) AS ordering_users
    FROM all_orders
    WHERE placed_at >= $3 AND placed_at < $4
    GROUP BY 1
),
paid AS (
    SELECT CAST(paid_at AT TIME ZONE $1 AS DATE) AS day,
           count(*) AS paid_orders,
           count(DISTINCT payer_uid) AS paying_users,
           CAST(sum(paid_fen) AS BIGINT) AS gmv_fen
    FROM all_orders
    WHERE paid_at >= $3 AND paid_at < $4
    GROUP BY 1
)
SELECT CAST(c.day AS VARCHAR) AS day,
       coalesce(a.visitors, 0) AS visitors,
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
FROM calendar c
LEFT JOIN activity a ON a.day = c.day
LEFT JOIN newcomers n ON n.day = c.day
LEFT JOIN placed pl ON pl.day = c.day
LEFT JOIN paid p ON p.day = c.day
ORDER BY c.day
