{{define "order_event_rows"}}{{if .Raw}}(
    -- The raw custom_order events, in the shape of rollup_order_events.
    SELECT app_id, ts, order_id, order_status, pay_fen, tracking_id, user_key, union_id,
           chan_id, scene, chan_refer_app_id, chan_custom_id, guide_id, room_id, shop_id, shop_name, order_fen
    FROM events
    WHERE app_id = $2 AND kind = 'behaviour' AND type = 'custom_order' AND order_id IS NOT NULL
){{else}}rollup_order_events{{end}}{{end}}
