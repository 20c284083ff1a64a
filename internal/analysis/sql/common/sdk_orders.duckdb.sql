{{define "sdk_orders"}}
-- sdk_orders.sql for DuckDB: one aggregation, arg_min_null picking the
-- values of an order's first event (ties broken as the portable file's
-- row_number does) instead of two window functions.
sdk_orders AS (
    SELECT order_id,
           min(ts) AS placed_at,
           min(ts) FILTER (WHERE order_status = 'payed') AS paid_at,
           min(ts) FILTER (WHERE order_status = 'refund') AS refunded_at,
           coalesce(max(pay_fen) FILTER (WHERE order_status = 'payed'), 0) AS payed_fen,
           max(pay_fen) FILTER (WHERE order_status = 'refund') AS refund_event_fen,
           arg_min_null(user_key, row(ts, order_status, tracking_id)) AS placer,
           arg_min_null(user_key, row(ts, tracking_id)) FILTER (WHERE order_status = 'payed') AS payer,
           max(union_id) AS union_id,
           arg_min_null(chan_id, row(ts, order_status, tracking_id)) AS chan_id,
           arg_min_null(scene, row(ts, order_status, tracking_id)) AS scene,
           arg_min_null(chan_refer_app_id, row(ts, order_status, tracking_id)) AS chan_refer_app_id,
           arg_min_null(chan_custom_id, row(ts, order_status, tracking_id)) AS chan_custom_id,
           arg_min_null(guide_id, row(ts, order_status, tracking_id)) AS guide_id,
           arg_min_null(room_id, row(ts, order_status, tracking_id)) AS room_id,
           arg_min_null(shop_id, row(ts, order_status, tracking_id)) AS shop_id,
           arg_min_null(shop_name, row(ts, order_status, tracking_id)) AS shop_name
    FROM {{template "order_event_rows" .}} oe
    WHERE oe.app_id = $2 AND oe.ts < $4
      AND oe.order_id IN (
          SELECT r.order_id FROM {{template "order_event_rows" .}} r
          WHERE r.app_id = $2 AND r.ts >= $3 AND r.ts < $4)
    GROUP BY order_id
){{end}}
