{{define "step_rows"}}{{if .StepRollup}}rollup_step_events{{else}}(
    -- The events in the shape of rollup_step_events, which holds those of
    -- event.StepTypes only.
    SELECT app_id, ts,
           CASE WHEN user_key IS NOT NULL THEN {{hash "user_key"}} END AS uid,
           CASE WHEN tracking_id IS NOT NULL THEN {{hash "tracking_id"}} END AS sid,
           type, sku_id, action_type, order_status, keyword, share_to, page,
           guide_id, room_id, ad_id, shop_id, chan_id
    FROM events
){{end}}{{end}}
