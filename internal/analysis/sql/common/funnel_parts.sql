{{define "funnel_step_events"}}
-- The events of the steps in the range, one flag per step (s0, s1, ...)
-- telling which steps an event matches, and the chain value it carries
-- (grp, '' when none: a chain is followed per user and value).
step_events AS (
    SELECT uid, ts,
           {{template "funnel_grp" .}} AS grp
           {{- range .Steps}},
           CASE WHEN {{template "funnel_step_match" .}} THEN 1 ELSE 0 END AS s{{.N}}
           {{- end}}
    FROM {{template "step_rows" .}} e
    WHERE {{template "funnel_in_range"}}
      AND type IN ({{range $i, $s := .Steps}}{{if $i}}, {{end}}{{$s.Type}}{{end}})
){{end}}

{{define "funnel_step_match"}}
{{- /* The events of one step (the step is the dot). */ -}}
type = {{.Type}}
{{- if .QualColumn}} AND {{.QualColumn}} = {{.Qual}}{{end}}
{{- if .NoRemovals}} AND action_type IS DISTINCT FROM 'remove_from_cart'{{end}}
{{- end}}

{{define "funnel_grp"}}
{{- /* A row's chain value (the query's data is the dot): its ?by= column, '' for none. */ -}}
{{if .By}}coalesce({{.By}}, ''){{else}}''{{end}}
{{- end}}

{{define "funnel_in_range"}}app_id = $2 AND uid IS NOT NULL AND ts >= $3 AND ts < $4{{end}}

{{define "funnel_result"}}
-- From u0 .. uN, the users (and chain values) that reached each step,
-- which each dialect's file defines: users and conversions per step and
-- chain value ('' shown as NULL).
groups AS (
    {{if .By}}SELECT DISTINCT grp FROM u0{{else}}SELECT '' AS grp{{end}}
),
steps AS (
    {{- range $i, $s := .Steps}}
    {{if $i}}UNION ALL {{end}}SELECT {{$s.N}} AS step, CAST({{$s.Type}} AS VARCHAR){{if $s.Qual}} || ':' || {{$s.Qual}}{{end}} AS name
    {{- end}}
),
reached AS (
    {{- range $i, $s := .Steps}}
    {{if $i}}UNION ALL {{end}}SELECT {{$s.N}} AS step, grp, count(*) AS users FROM u{{$s.N}} GROUP BY grp
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
ORDER BY grp NULLS LAST, step{{end}}
