{{define "page_rows"}}{{if .Raw}}(
    -- The raw page views, one row each, in the shape of rollup_pages.
    SELECT app_id,
           {{bucket "ts" .Bucket}} AS hour,
           page,
           CASE WHEN user_key IS NOT NULL THEN {{hash "user_key"}} END AS uid,
           1 AS views
    FROM events
    WHERE app_id = $2 AND type = 'browse_wxapp_page' AND page IS NOT NULL
      AND ts >= $3 AND ts < {{.DaysEnd}}
){{else}}rollup_pages{{end}}{{end}}
