-- Per guide_id: what the sessions carrying it did in the range (session
-- rows), and the orders attributed to it (all_orders: an SDK order's
-- placing session, a backend order's own guide_id, else its buyer's last
-- session): placed, paid and refunded in the range.
WITH {{template "all_orders" .}},
visits AS (
    SELECT s.guide_id,
           count(DISTINCT s.uid) AS visitors,
           CAST(sum(s.shares) AS BIGINT) AS shares,
           count(DISTINCT s.uid) FILTER (WHERE s.cart_adds > 0) AS cart_users
    FROM {{template "session_rows" .}} s
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4 AND s.guide_id IS NOT NULL
    GROUP BY s.guide_id
),
sales AS (
    SELECT guide_id,
           count(*) FILTER (WHERE placed_at >= $3 AND placed_at < $4) AS orders,
           count(*) FILTER (WHERE paid_at >= $3 AND paid_at < $4) AS paid_orders,
           count(DISTINCT payer_uid) FILTER (WHERE paid_at >= $3 AND paid_at < $4) AS paying_users,
           CAST(sum(paid_fen) FILTER (WHERE paid_at >= $3 AND paid_at < $4) AS BIGINT) AS gmv_fen,
           count(*) FILTER (WHERE refunded_at >= $3 AND refunded_at < $4) AS refunds,
           CAST(sum(refund_fen) FILTER (WHERE refunded_at >= $3 AND refunded_at < $4) AS BIGINT) AS refund_fen
    FROM all_orders
    WHERE guide_id IS NOT NULL
    GROUP BY guide_id
)
SELECT coalesce(v.guide_id, s.guide_id) AS guide_id,
       coalesce(v.visitors, 0) AS visitors,
       coalesce(v.shares, 0) AS shares,
       coalesce(v.cart_users, 0) AS cart_users,
       coalesce(s.orders, 0) AS orders,
       coalesce(s.paid_orders, 0) AS paid_orders,
       coalesce(s.paying_users, 0) AS paying_users,
       coalesce(s.gmv_fen, 0) AS gmv_fen,
       coalesce(s.refunds, 0) AS refunds,
       coalesce(s.refund_fen, 0) AS refund_fen
FROM visits v
FULL JOIN sales s ON s.guide_id = v.guide_id
ORDER BY gmv_fen DESC, visitors DESC, guide_id
