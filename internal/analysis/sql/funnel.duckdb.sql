-- funnel.sql for DuckDB: the same chains, found with ASOF joins (each
-- candidate event against the latest reached event before it) instead of
-- window functions. The step events and the result are shared
-- (common/funnel_parts.sql).
WITH {{template "funnel_step_events" .}},
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
-- The users (and chain values) that reached step {{.N}}.
u{{.N}} AS (
    SELECT DISTINCT uid, grp FROM r{{.N}}
),
{{- end}}
{{template "funnel_result" .}}
