{{define "session_rows"}}{{if .Raw}}(
    -- The raw events, one row each, in the shape of rollup_sessions: the
    -- roll-up holds the same rows summed per flush.
    SELECT e.app_id,
           {{bucket "e.ts" .Bucket}} AS hour,
           CASE WHEN e.tracking_id IS NOT NULL THEN {{hash "e.tracking_id"}} END AS sid,
           {{hash "e.user_key"}} AS uid,
           e.chan_id, e.scene, e.chan_refer_app_id, e.chan_custom_id,
           c.context->'chan'->'chan_custom'->>'chan_custom_cat_1' AS chan_custom_cat_1,
           c.context->'chan'->'chan_custom'->>'chan_custom_cat_2' AS chan_custom_cat_2,
           c.context->'chan'->'chan_custom'->>'chan_custom_cat_3' AS chan_custom_cat_3,
           e.guide_id, e.room_id, e.shop_id, e.shop_name,
           1 AS events,
           CASE WHEN e.type = 'browse_wxapp_page' THEN 1 ELSE 0 END AS page_views,
           CASE WHEN e.type = 'leave_wxapp_page' THEN coalesce(e.stay_ms, 0) ELSE 0 END AS stay_ms,
           CASE WHEN e.type = 'page_share_app_message' THEN 1 ELSE 0 END AS shares,
           CASE WHEN e.type = 'search' THEN 1 ELSE 0 END AS searches,
           CASE WHEN e.type = 'expose_sku_component' THEN 1 ELSE 0 END AS exposures,
           CASE WHEN e.type = 'trigger_sku_component' THEN 1 ELSE 0 END AS clicks,
           CASE WHEN e.type = 'browse_sku_page' THEN 1 ELSE 0 END AS detail_views,
           CASE WHEN e.type = 'add_to_cart' AND e.action_type IS DISTINCT FROM 'remove_from_cart' THEN 1 ELSE 0 END AS cart_adds,
           CASE WHEN e.type = 'add_to_cart' AND e.action_type IS DISTINCT FROM 'remove_from_cart' THEN coalesce(e.sku_num, 0) ELSE 0 END AS cart_units,
           CASE WHEN e.click_id IS NOT NULL THEN coalesce(e.ad_id, '') END AS ad_id
    FROM events e
    -- The chan_custom levels only of events that name a chan_custom_id,
    -- as the roll-ups read them.
    LEFT JOIN event_contexts c ON e.chan_custom_id IS NOT NULL AND c.app_id = e.app_id AND c.context_id = e.context_id
    WHERE e.app_id = $2 AND e.kind = 'behaviour' AND e.user_key IS NOT NULL
      AND e.ts >= $3 AND e.ts < {{.DaysEnd}}
){{else}}rollup_sessions{{end}}{{end}}
