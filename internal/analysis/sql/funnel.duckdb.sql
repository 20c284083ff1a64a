-- funnel.sql for DuckDB: the same chains, found with ASOF joins (each
-- candidate event against the latest reached event before it) over
-- hashed user keys, instead of window functions over strings.
WITH step_events AS (
    SELECT uid, ts,
           {{if .By}}coalesce({{.By}}, ''){{else}}''{{end}} AS grp
           {{- range .Steps}},
           CASE WHEN type = {{.Type}}
                 {{- if .QualColumn}} AND {{.QualColumn}} = {{.Qual}}{{end}}
                 {{- if .NoRemovals}} AND action_type IS DISTINCT FROM 'remove_from_cart'{{end}}
                THEN 1 ELSE 0 END AS s{{.N}}
           {{- end}}
    FROM {{template "step_rows" .}} e
    WHERE app_id = $2 AND uid IS NOT NULL
      AND ts >= $3 AND ts < $4
      AND type IN ({{range $i, $s := .Steps}}{{if $i}}, {{end}}{{$s.Type}}{{end}})
),
{{- range .Steps}}
{{- if eq .N 0}}
r0 AS (
    SELECT uid, grp, ts FROM step_events WHERE s0 = 1
),
{{- else}}
-- Step {{.N}}: the step's events of the users who reached step {{.Prev}}, each
-- against the latest step-{{.Prev}} event before it (of the same chain value),
-- which only those users' events can be.
c{{.N}} AS (
    {{- if $.By}}
    SELECT c.uid, g.grp, c.ts
    FROM step_events c
    JOIN (SELECT DISTINCT uid, grp FROM r{{.Prev}}) g ON g.uid = c.uid
    WHERE c.s{{.N}} = 1
    {{- else}}
    SELECT uid, grp, ts FROM step_events WHERE s{{.N}} = 1
    {{- end}}
),
r{{.N}} AS (
    SELECT c.uid, c.grp, c.ts
    FROM c{{.N}} c
    ASOF JOIN (SELECT uid, grp, ts FROM r{{.Prev}} WHERE uid IN (SELECT uid FROM c{{.N}})) r
        ON r.uid = c.uid AND r.grp = c.grp AND c.ts > r.ts
    WHERE c.ts <= r.ts + CAST($5 AS BIGINT) * INTERVAL '1 second'
),
{{- end}}
{{- end}}
groups AS (
    {{if .By}}SELECT DISTINCT grp FROM r0{{else}}SELECT '' AS grp{{end}}
),
steps AS (
    {{- range $i, $s := .Steps}}
    {{if $i}}UNION ALL {{end}}SELECT {{$s.N}} AS step, CAST({{$s.Type}} AS VARCHAR){{if $s.Qual}} || ':' || {{$s.Qual}}{{end}} AS name
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
