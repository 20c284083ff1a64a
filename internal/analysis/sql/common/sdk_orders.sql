{{define "sdk_orders"}}
-- The SDK's custom_order events up to the end of the range of the orders
-- with an event in the range (the others can neither be placed, nor paid,
-- nor refunded in it), numbered per order (nth = 1 is the event that
-- placed it) and per order and status. With PGRollups, only those of the
-- orders with events both before the range's end and after it, whether or
-- not one is inside the range (see below): rollup_orders holds the rest.
sdk_order_events AS (
    SELECT order_id, ts, tracking_id, user_key, union_id, order_status, pay_fen,
           chan_id, scene, chan_refer_app_id, chan_custom_id, guide_id, room_id, shop_id, shop_name,
           row_number() OVER (PARTITION BY order_id ORDER BY ts, order_status, tracking_id) AS nth,
           row_number() OVER (PARTITION BY order_id, order_status ORDER BY ts, tracking_id) AS nth_of_status
    FROM {{template "order_event_rows" .}} oe
    WHERE oe.app_id = $2 AND oe.ts < $4
      AND oe.order_id IN (
          {{- if .PGRollups}}
          -- rollup_orders alone names them: an order with an event
          -- before the range's end (placed_at, its first) and one at or
          -- after it. One with no event inside the range comes out neither
          -- placed, paid nor refunded in it, and all_orders drops it. A
          -- join to the range's order events cost a scan of them to its
          -- first row even when there is no such order (15 ms at 10 M
          -- events), a semi join hashed them all (117 ms).
          SELECT l.order_id FROM rollup_orders l
          WHERE l.app_id = $2 AND l.last_ts >= $4 AND l.placed_at < $4
          {{- else}}
          SELECT r.order_id FROM {{template "order_event_rows" .}} r
          WHERE r.app_id = $2 AND r.ts >= $3 AND r.ts < $4
          {{- end}})
),
-- One row per SDK order: placed at its first event, paid at its first
-- payed, refunded at its first refund; attributed to the values its
-- placing event carried (the session it was placed in).
sdk_orders AS (
    {{- if .PGRollups}}
    -- The orders whose every event is before the range's end, one row
    -- each, computed as below when rolled up (such an order has an event
    -- in the range if its last one is).
    SELECT order_id, placed_at, paid_at, refunded_at, payed_fen, refund_event_fen, placer, payer,
           union_id, chan_id, scene, chan_refer_app_id, chan_custom_id, guide_id, room_id, shop_id, shop_name
    FROM rollup_orders
    WHERE app_id = $2 AND last_ts >= $3 AND last_ts < $4
    UNION ALL
    {{- end}}
    SELECT order_id,
           min(ts) AS placed_at,
           min(ts) FILTER (WHERE order_status = 'payed') AS paid_at,
           min(ts) FILTER (WHERE order_status = 'refund') AS refunded_at,
           coalesce(max(pay_fen) FILTER (WHERE order_status = 'payed'), 0) AS payed_fen,
           max(pay_fen) FILTER (WHERE order_status = 'refund') AS refund_event_fen,
           max(user_key) FILTER (WHERE nth = 1) AS placer,
           max(user_key) FILTER (WHERE order_status = 'payed' AND nth_of_status = 1) AS payer,
           max(union_id) AS union_id,
           max(chan_id) FILTER (WHERE nth = 1) AS chan_id,
           max(scene) FILTER (WHERE nth = 1) AS scene,
           max(chan_refer_app_id) FILTER (WHERE nth = 1) AS chan_refer_app_id,
           max(chan_custom_id) FILTER (WHERE nth = 1) AS chan_custom_id,
           max(guide_id) FILTER (WHERE nth = 1) AS guide_id,
           max(room_id) FILTER (WHERE nth = 1) AS room_id,
           max(shop_id) FILTER (WHERE nth = 1) AS shop_id,
           max(shop_name) FILTER (WHERE nth = 1) AS shop_name
    FROM sdk_order_events
    GROUP BY order_id
){{end}}
