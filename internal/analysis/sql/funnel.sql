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
-- An event without the ?by= value and one with '' carry the same chain
-- value, shown as NULL. The step events and the result are shared with
-- funnel.duckdb.sql (common/funnel_parts.sql).
WITH {{template "funnel_step_events" .}},
{{- range .Steps}}
{{- if eq .N 0}}
r0 AS (
    SELECT uid, grp, ts FROM step_events WHERE s0 = 1
),
{{- else}}
-- Step {{.N}}'s events of the users (and chain values) that reached step {{.Prev}}.
c{{.N}} AS MATERIALIZED (
    SELECT c.uid, g.grp, c.ts
    FROM step_events c
    JOIN u{{.Prev}} g ON g.uid = c.uid
    WHERE c.s{{.N}} = 1
),
-- Step {{.N}}: each candidate event against the latest step-{{.Prev}} event of the
-- same user and chain value before it (candidates sort before reached
-- events of the same instant, so "before" is strict). Only the users with
-- a candidate have their step-{{.Prev}} events sorted in.
r{{.N}} AS (
    SELECT uid, grp, ts FROM (
        SELECT x.uid, x.grp, x.ts, x.cand,
               max(CASE WHEN x.cand = 0 THEN x.ts END) OVER (
                   PARTITION BY x.uid, x.grp ORDER BY x.ts, x.cand DESC
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev
        FROM (
            SELECT uid, grp, ts, 0 AS cand FROM r{{.Prev}} WHERE uid IN (SELECT uid FROM c{{.N}})
            UNION ALL
            SELECT uid, grp, ts, 1 AS cand FROM c{{.N}}
        ) x
    ) y
    WHERE cand = 1 AND prev IS NOT NULL AND ts <= prev + CAST($5 AS BIGINT) * INTERVAL '1 second'
),
{{- end}}
-- The users (and chain values) that reached step {{.N}}: counted in the
-- result, and the only ones whose events can reach the next step.
u{{.N}} AS MATERIALIZED (
    SELECT DISTINCT uid, grp FROM r{{.N}}
),
{{- end}}
{{template "funnel_result" .}}
