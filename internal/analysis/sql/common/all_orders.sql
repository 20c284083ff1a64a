{{define "all_orders"}}
-- The SDK's custom_order events up to the end of the range of the orders
-- with an event in the range (the others can neither be placed, nor paid,
-- nor refunded in it), numbered per order (nth = 1 is the event that
-- placed it) and per order and status.
sdk_order_events AS (
    SELECT order_id, ts, tracking_id, user_key, union_id, order_status, pay_fen,
           chan_id, scene, chan_refer_app_id, chan_custom_id, guide_id, room_id, shop_id, shop_name,
           row_number() OVER (PARTITION BY order_id ORDER BY ts, order_status, tracking_id) AS nth,
           row_number() OVER (PARTITION BY order_id, order_status ORDER BY ts, tracking_id) AS nth_of_status
    FROM events
    WHERE app_id = $2 AND type = 'custom_order' AND ts < $4
      AND order_id IN (
          SELECT order_id FROM events
          WHERE app_id = $2 AND type = 'custom_order' AND ts >= $3 AND ts < $4 AND order_id IS NOT NULL)
),
-- One row per SDK order: placed at its first event, paid at its first
-- payed, refunded at its first refund; attributed to the values its
-- placing event carried (the session it was placed in).
sdk_orders AS (
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
),
-- Backend orders (data-api add_order) created before the end of the
-- range, deleted ones left out; paid and refunded as of the end of the
-- range.
backend_orders AS (
    SELECT o.external_order_id AS order_id,
           o.create_time AS placed_at,
           CASE WHEN o.paid_time < $4 THEN o.paid_time END AS paid_at,
           r.refunded_at,
           o.payment_fen, o.open_id, o.union_id,
           o.chan_id, CAST(o.chan_scene AS BIGINT) AS scene, o.chan_refer_app_id, o.chan_custom_id,
           o.guide_id, o.store_id, o.store_name
    FROM orders o
    LEFT JOIN (
        SELECT external_order_id, min(status_change_time) AS refunded_at
        FROM order_status_history
        WHERE app_id = $2 AND status IN (1280, 1290) AND status_change_time < $4
        GROUP BY external_order_id
    ) r ON r.external_order_id = o.external_order_id
    WHERE o.app_id = $2 AND NOT o.is_deleted AND o.create_time < $4
),
-- The backend orders the range can see (placed, paid or refunded in it).
backend_in_range AS (
    SELECT * FROM backend_orders
    WHERE placed_at >= $3 OR paid_at >= $3 OR refunded_at >= $3
),
{{template "backend_last_session" .}},
-- Every order once: backend orders, and the SDK's for the order ids the
-- backend does not report. uids are those of rollup_users.
all_orders AS MATERIALIZED (
    SELECT 'backend' AS source, b.order_id, b.placed_at, b.paid_at, b.refunded_at,
           CASE WHEN b.paid_at IS NOT NULL THEN b.payment_fen ELSE 0 END AS paid_fen,
           CASE WHEN b.refunded_at IS NOT NULL THEN b.payment_fen ELSE 0 END AS refund_fen,
           CASE WHEN b.open_id IS NOT NULL THEN {{hash "b.open_id"}} END AS placer_uid,
           CASE WHEN b.open_id IS NOT NULL AND b.paid_at IS NOT NULL THEN {{hash "b.open_id"}} END AS payer_uid,
           b.union_id,
           coalesce(b.chan_id, f.chan_id) AS chan_id,
           coalesce(b.scene, f.scene) AS scene,
           coalesce(b.chan_refer_app_id, f.chan_refer_app_id) AS chan_refer_app_id,
           coalesce(b.chan_custom_id, f.chan_custom_id) AS chan_custom_id,
           coalesce(b.guide_id, f.guide_id) AS guide_id,
           f.room_id,
           coalesce(b.store_id, f.shop_id) AS shop_id,
           CASE WHEN b.store_id IS NOT NULL THEN b.store_name ELSE f.shop_name END AS shop_name
    FROM backend_in_range b
    LEFT JOIN backend_last_session f ON f.order_id = b.order_id
    UNION ALL
    SELECT 'sdk', s.order_id, s.placed_at, s.paid_at, s.refunded_at,
           CASE WHEN s.paid_at IS NOT NULL THEN s.payed_fen ELSE 0 END,
           CASE WHEN s.refunded_at IS NOT NULL THEN coalesce(s.refund_event_fen, s.payed_fen) ELSE 0 END,
           {{hash "s.placer"}},
           CASE WHEN s.paid_at IS NOT NULL THEN {{hash "s.payer"}} END,
           s.union_id, s.chan_id, CAST(s.scene AS BIGINT), s.chan_refer_app_id, s.chan_custom_id,
           s.guide_id, s.room_id, s.shop_id, s.shop_name
    FROM sdk_orders s
    WHERE (s.placed_at >= $3 OR s.paid_at >= $3 OR s.refunded_at >= $3)
      AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.app_id = $2 AND o.external_order_id = s.order_id)
){{end}}
