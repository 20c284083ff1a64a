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
-- value, shown as NULL. The step's events and the result are shared with
-- funnel.duckdb.sql (common/funnel_parts.sql).
--
-- PostgreSQL finds the reaches without sorting: time is cut into buckets
-- as long as the window, and an event at t in bucket [B, B+w)
-- has a reach of the step before in [t-w, t) exactly when that step's
-- earliest reach in the same bucket is before t, or its latest reach in
-- the bucket before is at or after t-w (every reach of the first lies at
-- or after B > t-w; every reach of the second before B <= t). So each
-- step's reaches are kept as (user, chain value, bucket, earliest, latest)
-- and each step's events are joined to two of those rows by equality:
-- no sort, and no join that grows with one user's events. From the step
-- roll-up each step reads its own type (rollup_step_events is split by
-- type); steps of other types share one read of the events. A first step
-- without a qualifier, with a window of whole hours, reads its reaches as
-- rows of rollup_step_hours instead (StepHours), which keeps the ?by=
-- values too: an event's reach before it exists exactly when one of the
-- rows of those buckets has one, however a bucket's reaches are split in
-- rows.
WITH
{{- if not .StepRollup}}
-- Other types than the roll-up's are read from the events once, not per step.
{{template "funnel_step_events" .}},
{{- end}}
{{- range .Steps}}
{{- if and (eq .N 0) $.StepHours}}
-- Step 0's reaches as rollup_step_hours keeps them, per user, hour and
-- ?by= values: each hour lies in one bucket (the window is whole hours),
-- and a reach before an event exists exactly when one of the bucket's
-- rows has one.
b0 AS MATERIALIZED (
    SELECT uid, {{template "funnel_grp" $}} AS grp, {{bucket "hour" $.WindowSeconds}} AS b, first, last
    FROM rollup_step_hours
    WHERE app_id = $2 AND type = {{.Type}} AND hour >= $3 AND hour < $4
),
u0 AS (
    SELECT DISTINCT uid, grp FROM b0
),
{{- else}}
{{- if eq .N 0}}
r0 AS (
    {{- if $.StepRollup}}
    SELECT uid, {{template "funnel_grp" $}} AS grp, ts
    FROM rollup_step_events e
    WHERE {{template "funnel_in_range"}} AND {{template "funnel_step_match" .}}
    {{- else}}
    SELECT uid, grp, ts FROM step_events WHERE s{{.N}} = 1
    {{- end}}
),
{{- else}}
-- Step {{.N}}'s events, with their bucket.
c{{.N}} AS MATERIALIZED (
    SELECT uid, ts, {{bucket "ts" $.WindowSeconds}} AS b
    {{- if $.StepRollup}}
    FROM rollup_step_events e
    WHERE {{template "funnel_in_range"}} AND {{template "funnel_step_match" .}}
    {{- else}}
    FROM step_events WHERE s{{.N}} = 1
    {{- end}}
),
-- Step {{.N}}: the events with a step-{{.Prev}} reach in the same bucket before
-- them or in the bucket before within the window, in that reach's chain.
r{{.N}} AS (
    SELECT c.uid, p.grp, c.ts
    FROM c{{.N}} c JOIN b{{.Prev}} p ON p.uid = c.uid AND p.b = c.b
    WHERE p.first < c.ts
    UNION ALL
    SELECT c.uid, p.grp, c.ts
    FROM c{{.N}} c JOIN b{{.Prev}} p ON p.uid = c.uid AND p.b = c.b - CAST($5 AS BIGINT) * INTERVAL '1 second'
    WHERE p.last >= c.ts - CAST($5 AS BIGINT) * INTERVAL '1 second'
),
{{- end}}
{{- if .Last}}
-- The users (and chain values) that reached the last step.
u{{.N}} AS (
    SELECT DISTINCT uid, grp FROM r{{.N}}
),
{{- else}}
-- Step {{.N}}'s reaches by user, chain value and bucket, for the next step.
b{{.N}} AS MATERIALIZED (
    SELECT uid, grp, {{bucket "ts" $.WindowSeconds}} AS b, min(ts) AS first, max(ts) AS last
    FROM r{{.N}}
    GROUP BY 1, 2, 3
),
-- The users (and chain values) that reached step {{.N}}.
u{{.N}} AS (
    SELECT DISTINCT uid, grp FROM b{{.N}}
),
{{- end}}
{{- end}}
{{- end}}
{{template "funnel_result" .}}
