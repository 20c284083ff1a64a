{{define "backend_last_session"}}
-- For each backend order of the range, the buyer's last behaviour event at
-- or before create_time and at most a day before it: the values of the
-- session the order came from, for the attributes the order does not carry.
backend_last_session AS (
    SELECT b.order_id, e.tracking_id, e.chan_id, CAST(e.scene AS BIGINT) AS scene, e.chan_refer_app_id,
           e.chan_custom_id, e.guide_id, e.room_id, e.shop_id, e.shop_name
    FROM backend_in_range b
    JOIN LATERAL (
        SELECT ev.tracking_id, ev.chan_id, ev.scene, ev.chan_refer_app_id, ev.chan_custom_id,
               ev.guide_id, ev.room_id, ev.shop_id, ev.shop_name
        FROM events ev
        WHERE ev.app_id = $2 AND ev.kind = 'behaviour' AND ev.user_key = b.open_id
          AND ev.ts <= b.placed_at AND ev.ts >= b.placed_at - INTERVAL '1 day'
        ORDER BY ev.ts DESC
        LIMIT 1
    ) e ON true
){{end}}
