-- Users through the steps in order: a user reaches step k+1 with an event
-- of that step later than (and at most $5 seconds after) an event with
-- which they reached step k; step 1 is any event of step 1. All events lie
-- in the range. With ?by=, a chain belongs to the value its step-1 event
-- carried, and a user counts once in every value they started a chain in.
-- A step matches the events of its type whose qualifier column (picked by
-- the code from the type: custom_order's order_status, add_to_cart's
-- action_type, search's keyword, page_share_app_message's share_to, the SKU
-- events' sku_id, else the page) equals the step's qualifier; without a
-- qualifier every event of the type, but add_to_cart's remove_from_cart.
WITH step_events AS (
    SELECT uid, ts,
           {{if .By}}{{.By}}{{else}}CAST(NULL AS VARCHAR){{end}} AS grp
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
-- Step {{.N}}: each candidate event against the latest step-{{.Prev}} event of the
-- same user and chain value before it (candidates sort before reached
-- events of the same instant, so "before" is strict).
r{{.N}} AS (
    SELECT uid, grp, ts FROM (
        SELECT x.uid, x.grp, x.ts, x.cand,
               max(CASE WHEN x.cand = 0 THEN x.ts END) OVER (
                   PARTITION BY x.uid, x.grp ORDER BY x.ts, x.cand DESC
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev
        FROM (
            SELECT uid, grp, ts, 0 AS cand FROM r{{.Prev}}
            UNION ALL
            SELECT c.uid, g.grp, c.ts, 1 AS cand
            FROM step_events c
            JOIN (SELECT DISTINCT uid, grp FROM r{{.Prev}}) g ON g.uid = c.uid
            WHERE c.s{{.N}} = 1
        ) x
    ) y
    WHERE cand = 1 AND prev IS NOT NULL AND ts <= prev + CAST($5 AS BIGINT) * INTERVAL '1 second'
),
{{- end}}
{{- end}}
groups AS (
    {{if .By}}SELECT DISTINCT grp FROM r0{{else}}SELECT CAST(NULL AS VARCHAR) AS grp{{end}}
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
    SELECT g.grp, s.step, s.name, coalesce(r.users, 0) AS users
    FROM groups g
    CROSS JOIN steps s
    LEFT JOIN reached r ON r.step = s.step AND r.grp IS NOT DISTINCT FROM g.grp
)
SELECT {{if .By}}grp, {{end}}step + 1 AS step, name, users,
       CAST(users AS DOUBLE PRECISION) / NULLIF(first_value(users) OVER (PARTITION BY grp ORDER BY step), 0) AS conversion,
       CAST(users AS DOUBLE PRECISION) / NULLIF(lag(users) OVER (PARTITION BY grp ORDER BY step), 0) AS step_conversion
FROM counted
ORDER BY grp NULLS LAST, step
