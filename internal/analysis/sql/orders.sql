-- Per day (cut in the app's time zone, every day of the range): orders
-- created, orders paid (paid_time: the earliest status that means paid),
-- GMV (payment_fen of the orders paid that day), paying users, refunds
-- (orders first reaching 1280 or 1290 that day) with their payment_fen,
-- and the average paid order. Orders marked is_deleted are left out.
-- $1 time zone, $2 app, [$3, $4) UTC bounds, $5..$6 the local days.
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM generate_series(CAST($5 AS DATE), CAST($6 AS DATE), INTERVAL '1 day') AS t(d)
),
live AS (
    SELECT * FROM orders WHERE app_id = $2 AND NOT is_deleted
),
created AS (
    SELECT CAST(create_time AT TIME ZONE $1 AS DATE) AS day, count(*) AS n
    FROM live WHERE create_time >= $3 AND create_time < $4
    GROUP BY 1
),
paid AS (
    SELECT CAST(paid_time AT TIME ZONE $1 AS DATE) AS day, count(*) AS n, CAST(sum(payment_fen) AS BIGINT) AS fen,
           count(DISTINCT coalesce(open_id, union_id, user_id)) AS users
    FROM live WHERE paid_time >= $3 AND paid_time < $4
    GROUP BY 1
),
first_refund AS (
    SELECT external_order_id, min(status_change_time) AS at
    FROM order_status_history
    WHERE app_id = $2 AND status IN (1280, 1290)
    GROUP BY 1
),
refunded AS (
    SELECT CAST(r.at AT TIME ZONE $1 AS DATE) AS day, count(*) AS n, CAST(sum(l.payment_fen) AS BIGINT) AS fen
    FROM first_refund r JOIN live l ON l.external_order_id = r.external_order_id
    WHERE r.at >= $3 AND r.at < $4
    GROUP BY 1
)
SELECT CAST(days.day AS VARCHAR) AS day,
       coalesce(created.n, 0) AS orders,
       coalesce(paid.n, 0) AS paid_orders,
       coalesce(paid.fen, 0) AS gmv_fen,
       coalesce(paid.users, 0) AS paying_users,
       coalesce(refunded.n, 0) AS refunds,
       coalesce(refunded.fen, 0) AS refund_fen,
       CASE WHEN paid.n > 0 THEN CAST(round(CAST(paid.fen AS DOUBLE PRECISION) / paid.n) AS BIGINT) END AS avg_order_fen
FROM days
LEFT JOIN created ON created.day = days.day
LEFT JOIN paid ON paid.day = days.day
LEFT JOIN refunded ON refunded.day = days.day
ORDER BY 1
