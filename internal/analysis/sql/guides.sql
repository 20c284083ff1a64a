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
{{template "sales_by" "guide_id"}}
SELECT coalesce(v.guide_id, s.key) AS guide_id,
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
FULL JOIN sales s ON s.key = v.guide_id
ORDER BY gmv_fen DESC, visitors DESC, guide_id
