-- Per day (every day of the range, cut in the app's time zone): the
-- merchant's add_order_sum figures, the same figures computed from the
-- stored orders and from the SDK's custom_order events, and the
-- differences (computed - merchant; NULL when the merchant sent no sum for
-- the day). status: ok when the merchant's four figures equal the stored
-- orders', differs when not, no_sum when the merchant sent none.
-- $1 time zone, $2 app, [$3, $4) UTC bounds, $5..$6 the local days.
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM generate_series(CAST($5 AS DATE), CAST($6 AS DATE), INTERVAL '1 day') AS t(d)
),
merchant AS (
    SELECT ref_date AS day, give_order_num, give_order_fen, payed_num, payment_fen
    FROM order_sums
    WHERE app_id = $2 AND ref_date BETWEEN CAST($5 AS DATE) AND CAST($6 AS DATE)
),
live AS (
    SELECT * FROM orders WHERE app_id = $2 AND NOT is_deleted
),
created AS (
    SELECT CAST(create_time AT TIME ZONE $1 AS DATE) AS day, count(*) AS n, CAST(sum(order_fen) AS BIGINT) AS fen
    FROM live WHERE create_time >= $3 AND create_time < $4
    GROUP BY 1
),
paid AS (
    SELECT CAST(paid_time AT TIME ZONE $1 AS DATE) AS day, count(*) AS n, CAST(sum(payment_fen) AS BIGINT) AS fen
    FROM live WHERE paid_time >= $3 AND paid_time < $4
    GROUP BY 1
),
-- One row per order and status: its first event in the range (read from
-- the narrow roll-up of custom_order events, not from every event).
sdk_orders AS (
    SELECT order_status, order_id, min(ts) AS ts, max(order_fen) AS order_fen, max(pay_fen) AS pay_fen
    FROM {{template "order_event_rows" .}} oe
    WHERE app_id = $2 AND order_status IN ('give_order', 'payed') AND ts >= $3 AND ts < $4
    GROUP BY 1, 2
),
sdk AS (
    SELECT CAST(ts AT TIME ZONE $1 AS DATE) AS day,
           count(*) FILTER (WHERE order_status = 'give_order') AS orders,
           CAST(coalesce(sum(order_fen) FILTER (WHERE order_status = 'give_order'), 0) AS BIGINT) AS order_fen,
           count(*) FILTER (WHERE order_status = 'payed') AS paid,
           CAST(coalesce(sum(pay_fen) FILTER (WHERE order_status = 'payed'), 0) AS BIGINT) AS paid_fen
    FROM sdk_orders
    GROUP BY 1
),
joined AS (
    SELECT days.day,
           merchant.give_order_num AS sum_orders, merchant.give_order_fen AS sum_order_fen,
           merchant.payed_num AS sum_paid, merchant.payment_fen AS sum_paid_fen,
           coalesce(created.n, 0) AS orders, coalesce(created.fen, 0) AS order_fen,
           coalesce(paid.n, 0) AS paid, coalesce(paid.fen, 0) AS paid_fen,
           coalesce(sdk.orders, 0) AS sdk_orders, coalesce(sdk.order_fen, 0) AS sdk_order_fen,
           coalesce(sdk.paid, 0) AS sdk_paid, coalesce(sdk.paid_fen, 0) AS sdk_paid_fen
    FROM days
    LEFT JOIN merchant ON merchant.day = days.day
    LEFT JOIN created ON created.day = days.day
    LEFT JOIN paid ON paid.day = days.day
    LEFT JOIN sdk ON sdk.day = days.day
)
SELECT CAST(day AS VARCHAR) AS day,
       sum_orders, sum_order_fen, sum_paid, sum_paid_fen,
       orders, order_fen, paid, paid_fen,
       sdk_orders, sdk_order_fen, sdk_paid, sdk_paid_fen,
       orders - sum_orders AS diff_orders,
       order_fen - sum_order_fen AS diff_order_fen,
       paid - sum_paid AS diff_paid,
       paid_fen - sum_paid_fen AS diff_paid_fen,
       sdk_orders - sum_orders AS sdk_diff_orders,
       sdk_order_fen - sum_order_fen AS sdk_diff_order_fen,
       sdk_paid - sum_paid AS sdk_diff_paid,
       sdk_paid_fen - sum_paid_fen AS sdk_diff_paid_fen,
       CASE WHEN sum_orders IS NULL THEN 'no_sum'
            WHEN orders = sum_orders AND order_fen = sum_order_fen AND paid = sum_paid AND paid_fen = sum_paid_fen THEN 'ok'
            ELSE 'differs' END AS status
FROM joined
ORDER BY 1
