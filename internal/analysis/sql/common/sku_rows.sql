{{define "sku_rows"}}{{if .Raw}}(
    -- The raw SKU events, one row each, in the shape of rollup_skus.
    SELECT app_id,
           {{bucket "ts" .Bucket}} AS hour,
           sku_id,
           {{hash "user_key"}} AS uid,
           sku_name,
           CASE WHEN type = 'expose_sku_component' THEN 1 ELSE 0 END AS exposures,
           CASE WHEN type = 'trigger_sku_component' THEN 1 ELSE 0 END AS clicks,
           CASE WHEN type = 'browse_sku_page' THEN 1 ELSE 0 END AS detail_views,
           CASE WHEN type = 'add_to_cart' AND action_type IS DISTINCT FROM 'remove_from_cart' THEN 1 ELSE 0 END AS cart_adds,
           CASE WHEN type = 'add_to_cart' AND action_type IS DISTINCT FROM 'remove_from_cart' THEN coalesce(sku_num, 0) ELSE 0 END AS cart_units
    FROM events
    WHERE app_id = $2 AND kind = 'behaviour' AND user_key IS NOT NULL AND sku_id IS NOT NULL
      AND type IN ('expose_sku_component', 'trigger_sku_component', 'browse_sku_page', 'add_to_cart')
      AND ts >= $3 AND ts < {{.DaysEnd}}
){{else}}rollup_skus{{end}}{{end}}
