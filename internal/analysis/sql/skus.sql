-- Per SKU: the behaviours of the range (roll-up rollup_skus or the raw
-- events, see sku_rows; on PostgreSQL the sums and range counts derived
-- from rollup_skus) and what the backend orders sold of it (the SDK's
-- custom_order carries no SKU). Sorted by the column the code picked from
-- ?sort=, top $5.
WITH {{template "all_orders" .}},
-- The sums per SKU: on PostgreSQL from its hourly sums per SKU
-- (rollup_sku_hours, migration 0014), not the per-user rows.
totals AS (
    SELECT r.sku_id, max(r.sku_name) AS sku_name,
           CAST(sum(r.exposures) AS BIGINT) AS exposures,
           CAST(sum(r.clicks) AS BIGINT) AS clicks,
           CAST(sum(r.detail_views) AS BIGINT) AS detail_views,
           CAST(sum(r.cart_units) AS BIGINT) AS cart_units
    FROM {{if .PGRollups}}rollup_sku_hours{{else}}{{template "sku_rows" .}}{{end}} r
    WHERE r.app_id = $2 AND r.hour >= $3 AND r.hour < $4
    GROUP BY r.sku_id
),
{{- if .PGRollups}}
-- PostgreSQL: the distinct users from the presences' gaps (migration
-- 0014, range_firsts).
users AS (
    SELECT g.dim AS sku_id,
           CAST(sum(g.n) FILTER (WHERE g.pop = 6) AS BIGINT) AS exposure_users,
           CAST(sum(g.n) FILTER (WHERE g.pop = 7) AS BIGINT) AS cart_users
    FROM {{template "range_firsts" "IN (6, 7)"}}
    GROUP BY g.dim
),
behaviour AS (
    SELECT t.sku_id, t.sku_name, t.exposures, coalesce(u.exposure_users, 0) AS exposure_users, t.clicks,
           t.detail_views, t.cart_units, coalesce(u.cart_users, 0) AS cart_users
    FROM totals t
    LEFT JOIN users u ON u.sku_id = t.sku_id
),
{{- else}}
-- Distinct (SKU, user) pairs, the SKU as a 64-bit hash: counting pairs of
-- integers is much faster than pairs of a string and an integer.
exposed AS (
    SELECT k, count(*) AS users
    FROM (SELECT DISTINCT {{hash "r.sku_id"}} AS k, r.uid
          FROM {{template "sku_rows" .}} r
          WHERE r.app_id = $2 AND r.hour >= $3 AND r.hour < $4 AND r.exposures > 0) x
    GROUP BY k
),
carted AS (
    SELECT k, count(*) AS users
    FROM (SELECT DISTINCT {{hash "r.sku_id"}} AS k, r.uid
          FROM {{template "sku_rows" .}} r
          WHERE r.app_id = $2 AND r.hour >= $3 AND r.hour < $4 AND r.cart_adds > 0) x
    GROUP BY k
),
behaviour AS (
    SELECT t.sku_id, t.sku_name, t.exposures, coalesce(e.users, 0) AS exposure_users, t.clicks,
           t.detail_views, t.cart_units, coalesce(c.users, 0) AS cart_users
    FROM totals t
    LEFT JOIN exposed e ON e.k = {{hash "t.sku_id"}}
    LEFT JOIN carted c ON c.k = {{hash "t.sku_id"}}
),
{{- end}}
sold AS (
    {{- if .Backend}}
    SELECT g.sku_id, max(g.sku_name) AS sku_name,
           count(DISTINCT o.order_id) FILTER (WHERE o.placed_at >= $3 AND o.placed_at < $4) AS orders,
           CAST(sum(g.goods_num) FILTER (WHERE o.paid_at >= $3 AND o.paid_at < $4) AS BIGINT) AS paid_units,
           CAST(sum(g.payment_fen) FILTER (WHERE o.paid_at >= $3 AND o.paid_at < $4) AS BIGINT) AS gmv_fen
    FROM all_orders o
    JOIN order_goods g ON g.app_id = $2 AND g.external_order_id = o.order_id
    WHERE o.source = 'backend'
    GROUP BY g.sku_id
    {{- else}}
    SELECT CAST(NULL AS VARCHAR) AS sku_id, CAST(NULL AS VARCHAR) AS sku_name, CAST(0 AS BIGINT) AS orders,
           CAST(0 AS BIGINT) AS paid_units, CAST(0 AS BIGINT) AS gmv_fen
    WHERE false
    {{- end}}
),
skus AS (
    SELECT coalesce(b.sku_id, s.sku_id) AS sku_id,
           coalesce(b.sku_name, s.sku_name) AS sku_name,
           coalesce(b.exposures, 0) AS exposures,
           coalesce(b.exposure_users, 0) AS exposure_users,
           coalesce(b.clicks, 0) AS clicks,
           CAST(b.clicks AS DOUBLE PRECISION) / NULLIF(b.exposures, 0) AS ctr,
           coalesce(b.detail_views, 0) AS detail_views,
           coalesce(b.cart_units, 0) AS cart_units,
           coalesce(b.cart_users, 0) AS cart_users,
           coalesce(s.orders, 0) AS orders,
           coalesce(s.paid_units, 0) AS paid_units,
           coalesce(s.gmv_fen, 0) AS gmv_fen
    FROM behaviour b
    FULL JOIN sold s ON s.sku_id = b.sku_id
)
SELECT * FROM skus
ORDER BY {{.Sort}} DESC NULLS LAST, sku_id
LIMIT $5
