{{define "backend_last_session"}}
-- For each backend order of the range, the buyer's last behaviour event at
-- or before create_time and at most a day before it: the values of the
-- session the order came from, for the attributes the order does not carry.
-- (DuckDB: an ASOF join over the buyers' events from a day before the
-- earliest such order, the bound the code found, bounds the scan can prune by.)
backend_last_session AS (
    SELECT b.order_id, e.tracking_id, e.chan_id, CAST(e.scene AS BIGINT) AS scene, e.chan_refer_app_id,
           e.chan_custom_id, e.guide_id, e.room_id, e.shop_id, e.shop_name
    FROM backend_in_range b
    ASOF JOIN (
        SELECT user_key, ts, tracking_id, chan_id, scene, chan_refer_app_id, chan_custom_id,
               guide_id, room_id, shop_id, shop_name
        FROM events
        WHERE app_id = $2 AND kind = 'behaviour'
          AND ts >= CAST({{.BackendFrom}} AS TIMESTAMPTZ) - INTERVAL '1 day' AND ts < $4
          AND user_key IN (SELECT open_id FROM backend_in_range)
    ) e ON e.user_key = b.open_id AND b.placed_at >= e.ts
    WHERE e.ts >= b.placed_at - INTERVAL '1 day'
){{end}}
