-- Per value of each channel dimension: the visitors and sessions whose
-- events carried it in the range, and the paid orders of the range
-- attributed to it (all_orders: the placing session's values). An order
-- reaches the chan_custom levels through its chan_custom_id, by the levels
-- the events carried with that id in the range.
WITH {{template "all_orders" .}},
{{- if .PGRollups}}
-- PostgreSQL: the visitors and sessions per value from the presences'
-- gaps (migration 0016, range_firsts). Per dimension (its order o),
-- population 7+o holds the users and 13+o the sessions, the value as the
-- dimension: '=' and the value, or '' for none.
counts AS (
    SELECT g.pop, g.dim, CAST(sum(g.n) AS BIGINT) AS n
    FROM {{template "range_firsts" "BETWEEN 8 AND 19"}}
    GROUP BY g.pop, g.dim
),
levels AS (
    SELECT s.chan_custom_id, max(s.chan_custom_cat_1) AS chan_custom_cat_1,
           max(s.chan_custom_cat_2) AS chan_custom_cat_2, max(s.chan_custom_cat_3) AS chan_custom_cat_3
    FROM rollup_sessions s
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4 AND s.chan_custom_id IS NOT NULL
    GROUP BY s.chan_custom_id
),
{{- else}}
vals AS (
    SELECT s.uid, s.sid, s.chan_id, CAST(s.scene AS VARCHAR) AS scene,
           s.chan_custom_cat_1, s.chan_custom_cat_2, s.chan_custom_cat_3, s.chan_custom_id
    FROM {{template "session_rows" .}} s
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4
),
-- Users and sessions with the values they carried, the values as 64-bit
-- hashes: counting distinct integers per integer is much faster than per
-- string. names maps the hashes back.
sess AS MATERIALIZED (
    SELECT uid, sid
           {{- range .Dims}}, {{hash .Name}} AS k_{{.Name}}{{end}}
    FROM vals
    GROUP BY uid, sid{{range .Dims}}, {{hash .Name}}{{end}}
),
names AS MATERIALIZED (
    SELECT DISTINCT chan_id, scene, chan_custom_cat_1, chan_custom_cat_2, chan_custom_cat_3, chan_custom_id
    FROM vals
),
levels AS (
    SELECT chan_custom_id, max(chan_custom_cat_1) AS chan_custom_cat_1,
           max(chan_custom_cat_2) AS chan_custom_cat_2, max(chan_custom_cat_3) AS chan_custom_cat_3
    FROM names
    WHERE chan_custom_id IS NOT NULL
    GROUP BY chan_custom_id
),
{{- end}}
paid AS MATERIALIZED (
    SELECT o.payer_uid, o.paid_fen, o.chan_id, CAST(o.scene AS VARCHAR) AS scene, o.chan_custom_id,
           l.chan_custom_cat_1, l.chan_custom_cat_2, l.chan_custom_cat_3
    FROM all_orders o
    LEFT JOIN levels l ON l.chan_custom_id = o.chan_custom_id
    WHERE o.paid_at >= $3 AND o.paid_at < $4
),
figures AS (
    {{- range $i, $d := .Dims}}
    {{if $i}}UNION ALL
    {{end}}
    {{- if $.PGRollups}}SELECT {{$d.Order}} AS dim_order, '{{$d.Name}}' AS dimension,
           CASE WHEN c.dim <> '' THEN substr(c.dim, 2) END AS value,
           max(c.n) FILTER (WHERE c.pop = 7 + {{$d.Order}}) AS visitors,
           max(c.n) FILTER (WHERE c.pop = 13 + {{$d.Order}}) AS sessions,
           CAST(NULL AS BIGINT) AS paying_users, CAST(NULL AS BIGINT) AS paid_orders, CAST(NULL AS BIGINT) AS gmv_fen
    FROM counts c WHERE c.pop IN (7 + {{$d.Order}}, 13 + {{$d.Order}}) GROUP BY c.dim
    {{- else}}SELECT {{$d.Order}} AS dim_order, '{{$d.Name}}' AS dimension, n.value,
           v.visitors, v.sessions,
           CAST(NULL AS BIGINT) AS paying_users, CAST(NULL AS BIGINT) AS paid_orders, CAST(NULL AS BIGINT) AS gmv_fen
    FROM (SELECT k_{{$d.Name}} AS k, count(DISTINCT uid) AS visitors, count(DISTINCT sid) AS sessions
          FROM sess GROUP BY k_{{$d.Name}}) v
    LEFT JOIN (SELECT DISTINCT {{hash $d.Name}} AS k, {{$d.Name}} AS value FROM names) n ON n.k = v.k
    {{- end}}
    UNION ALL
    SELECT {{$d.Order}}, '{{$d.Name}}', {{$d.Name}}, NULL, NULL,
           count(DISTINCT payer_uid), count(*), CAST(sum(paid_fen) AS BIGINT)
    FROM paid GROUP BY {{$d.Name}}
    {{- end}}
)
SELECT dimension, value,
       coalesce(max(visitors), 0) AS visitors,
       coalesce(max(sessions), 0) AS sessions,
       coalesce(max(paying_users), 0) AS paying_users,
       coalesce(max(paid_orders), 0) AS paid_orders,
       coalesce(max(gmv_fen), 0) AS gmv_fen
FROM figures
GROUP BY dim_order, dimension, value
ORDER BY dim_order, visitors DESC, gmv_fen DESC, value NULLS LAST
