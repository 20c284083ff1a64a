-- Per store: the SDK's shop (chan_shop_id, else store_info.external_store_id,
-- else a SKU event's shipping_shop) and the backend's store_info
-- (external_store_id of the order's first goods line naming one). What the
-- sessions carrying it did in the range, and the orders attributed to it.
WITH {{template "all_orders" .}},
visits AS (
    SELECT s.shop_id,
           max(s.shop_name) AS shop_name,
           count(DISTINCT s.uid) AS visitors,
           CAST(sum(s.exposures) AS BIGINT) AS exposures,
           CAST(sum(s.clicks) AS BIGINT) AS clicks,
           CAST(sum(s.detail_views) AS BIGINT) AS detail_views,
           CAST(sum(s.cart_adds) AS BIGINT) AS cart_adds
    FROM {{template "session_rows" .}} s
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4 AND s.shop_id IS NOT NULL
    GROUP BY s.shop_id
),
{{template "sales_by" "shop_id"}}
SELECT coalesce(v.shop_id, s.key) AS store_id,
       coalesce(v.shop_name, s.shop_name) AS store_name,
       coalesce(v.visitors, 0) AS visitors,
       coalesce(v.exposures, 0) AS exposures,
       coalesce(v.clicks, 0) AS clicks,
       coalesce(v.detail_views, 0) AS detail_views,
       coalesce(v.cart_adds, 0) AS cart_adds,
       coalesce(s.orders, 0) AS orders,
       coalesce(s.paid_orders, 0) AS paid_orders,
       coalesce(s.gmv_fen, 0) AS gmv_fen,
       CAST(round(CAST(s.gmv_fen AS DOUBLE PRECISION) / NULLIF(s.paid_orders, 0)) AS BIGINT) AS avg_order_fen
FROM visits v
FULL JOIN sales s ON s.key = v.shop_id
ORDER BY gmv_fen DESC, visitors DESC, store_id
