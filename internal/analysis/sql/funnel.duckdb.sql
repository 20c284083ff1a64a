-- funnel.sql for DuckDB: the same chains, found with ASOF joins (each
-- candidate event against the latest reached event before it) over
-- hashed user keys, instead of window functions over strings.
WITH step_events AS (
    SELECT hash(user_key) AS uid, ts,
           {{if .By}}coalesce({{.By}}, ''){{else}}''{{end}} AS grp
           {{- range .Steps}},
           CASE WHEN type = {{.Type}}
                 AND ({{.Qual}} = '' OR {{.Qual}} = CASE type
                        WHEN 'custom_order' THEN order_status
                        WHEN 'add_to_cart' THEN action_type
                        WHEN 'search' THEN keyword
                        WHEN 'page_share_app_message' THEN share_to
                        WHEN 'expose_sku_component' THEN sku_id
                        WHEN 'trigger_sku_component' THEN sku_id
                        WHEN 'browse_sku_page' THEN sku_id
                        ELSE page END)
                 AND ({{.Qual}} <> '' OR type <> 'add_to_cart' OR action_type IS DISTINCT FROM 'remove_from_cart')
                THEN 1 ELSE 0 END AS s{{.N}}
           {{- end}}
    FROM events
    WHERE app_id = $2 AND kind = 'behaviour' AND user_key IS NOT NULL
      AND ts >= $3 AND ts < $4
      AND type IN ({{range $i, $s := .Steps}}{{if $i}}, {{end}}{{$s.Type}}{{end}})
),
{{- range .Steps}}
{{- if eq .N 0}}
r0 AS (
    SELECT uid, grp, ts FROM step_events WHERE s0 = 1
),
{{- else}}
r{{.N}} AS (
    SELECT c.uid, c.grp, c.ts
    FROM (
        SELECT c.uid, g.grp, c.ts
        FROM step_events c
        JOIN (SELECT DISTINCT uid, grp FROM r{{.Prev}}) g ON g.uid = c.uid
        WHERE c.s{{.N}} = 1
    ) c
    ASOF JOIN r{{.Prev}} r ON r.uid = c.uid AND r.grp = c.grp AND c.ts > r.ts
    WHERE c.ts <= r.ts + CAST($5 AS BIGINT) * INTERVAL '1 second'
),
{{- end}}
{{- end}}
groups AS (
    {{if .By}}SELECT DISTINCT grp FROM r0{{else}}SELECT '' AS grp{{end}}
),
steps AS (
    {{- range $i, $s := .Steps}}
    {{if $i}}UNION ALL {{end}}SELECT {{$s.N}} AS step, CAST({{$s.Type}} AS VARCHAR) || CASE WHEN {{$s.Qual}} <> '' THEN ':' || {{$s.Qual}} ELSE '' END AS name
    {{- end}}
),
reached AS (
    {{- range $i, $s := .Steps}}
    {{if $i}}UNION ALL {{end}}SELECT {{$s.N}} AS step, grp, count(DISTINCT uid) AS users FROM r{{$s.N}} GROUP BY grp
    {{- end}}
),
counted AS (
    SELECT NULLIF(g.grp, '') AS grp, s.step, s.name, coalesce(r.users, 0) AS users
    FROM groups g
    CROSS JOIN steps s
    LEFT JOIN reached r ON r.step = s.step AND r.grp = g.grp
)
SELECT {{if .By}}grp, {{end}}step + 1 AS step, name, users,
       CAST(users AS DOUBLE PRECISION) / NULLIF(first_value(users) OVER (PARTITION BY grp ORDER BY step), 0) AS conversion,
       CAST(users AS DOUBLE PRECISION) / NULLIF(lag(users) OVER (PARTITION BY grp ORDER BY step), 0) AS step_conversion
FROM counted
ORDER BY grp NULLS LAST, step
