{{define "all_orders"}}
{{template "sdk_orders" .}},
{{- if .Backend}}
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
{{- end}}
-- Every order once: backend orders, and the SDK's for the order ids the
-- backend does not report. uids are those of rollup_users. (.Backend is
-- false when the app has no backend order the range can see: the
-- backend parts are left out.)
all_orders AS MATERIALIZED (
    {{- if .Backend}}
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
    {{- end}}
    SELECT 'sdk' AS source, s.order_id, s.placed_at, s.paid_at, s.refunded_at,
           CASE WHEN s.paid_at IS NOT NULL THEN s.payed_fen ELSE 0 END AS paid_fen,
           CASE WHEN s.refunded_at IS NOT NULL THEN coalesce(s.refund_event_fen, s.payed_fen) ELSE 0 END AS refund_fen,
           {{hash "s.placer"}} AS placer_uid,
           CASE WHEN s.paid_at IS NOT NULL THEN {{hash "s.payer"}} END AS payer_uid,
           s.union_id, s.chan_id, CAST(s.scene AS BIGINT) AS scene, s.chan_refer_app_id, s.chan_custom_id,
           s.guide_id, s.room_id, s.shop_id, s.shop_name
    FROM sdk_orders s
    WHERE (s.placed_at >= $3 OR s.paid_at >= $3 OR s.refunded_at >= $3)
    {{- if .Backend}}
      AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.app_id = $2 AND o.external_order_id = s.order_id)
    {{- end}}
){{end}}
