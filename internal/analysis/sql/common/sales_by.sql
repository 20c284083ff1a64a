{{define "sales_by"}}
-- The orders of all_orders attributed to each value of the column named by
-- the template's argument (guide_id, room_id, shop_id), as "key": placed,
-- paid and refunded in the range, paying users, GMV and refunds (fen), and
-- the store name the orders carried.
sales AS (
    SELECT {{.}} AS key,
           max(shop_name) AS shop_name,
           count(*) FILTER (WHERE placed_at >= $3 AND placed_at < $4) AS orders,
           count(*) FILTER (WHERE paid_at >= $3 AND paid_at < $4) AS paid_orders,
           count(DISTINCT payer_uid) FILTER (WHERE paid_at >= $3 AND paid_at < $4) AS paying_users,
           CAST(sum(paid_fen) FILTER (WHERE paid_at >= $3 AND paid_at < $4) AS BIGINT) AS gmv_fen,
           count(*) FILTER (WHERE refunded_at >= $3 AND refunded_at < $4) AS refunds,
           CAST(sum(refund_fen) FILTER (WHERE refunded_at >= $3 AND refunded_at < $4) AS BIGINT) AS refund_fen
    FROM all_orders
    WHERE {{.}} IS NOT NULL
    GROUP BY {{.}}
){{end}}
