{{define "user_rows"}}{{if .Raw}}(
    -- Every user's first behaviour event and union_id, from all the events.
    SELECT app_id, {{hash "user_key"}} AS uid, min(ts) AS first_ts, max(union_id) AS union_id
    FROM events
    WHERE app_id = $2 AND kind = 'behaviour' AND user_key IS NOT NULL
    GROUP BY app_id, {{hash "user_key"}}
){{else}}rollup_users{{end}}{{end}}
