{{define "event_type_rows"}}{{if .Raw}}(
    -- The raw events of every kind, one row each, in the shape of
    -- rollup_event_types.
    SELECT app_id,
           to_timestamp(floor(extract(epoch FROM ts) / {{.Bucket}}) * {{.Bucket}}) AS hour,
           type, kind,
           CASE WHEN user_key IS NOT NULL THEN {{hash "user_key"}} END AS uid,
           1 AS events
    FROM events
    WHERE app_id = $2 AND ts >= $3 AND ts < {{.DaysEnd}}
){{else}}rollup_event_types{{end}}{{end}}
