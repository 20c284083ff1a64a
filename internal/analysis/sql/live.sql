-- Per live room_id: what the sessions carrying it did in the range (the
-- SDK sets chan.room_id when the room page shows, so every later event of
-- the session carries it), and the orders attributed to the room.
WITH {{template "all_orders" .}},
visits AS (
    SELECT s.room_id,
           count(DISTINCT s.uid) AS visitors,
           count(DISTINCT s.sid) AS sessions,
           CAST(sum(s.stay_ms) AS BIGINT) AS stay_ms,
           CAST(sum(s.exposures) AS BIGINT) AS exposures,
           CAST(sum(s.clicks) AS BIGINT) AS clicks,
           CAST(sum(s.cart_adds) AS BIGINT) AS cart_adds
    FROM {{template "session_rows" .}} s
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4 AND s.room_id IS NOT NULL
    GROUP BY s.room_id
),
{{template "sales_by" "room_id"}}
SELECT coalesce(v.room_id, s.key) AS room_id,
       coalesce(v.visitors, 0) AS visitors,
       coalesce(v.sessions, 0) AS sessions,
       coalesce(v.stay_ms, 0) AS stay_ms,
       coalesce(v.exposures, 0) AS exposures,
       coalesce(v.clicks, 0) AS clicks,
       coalesce(v.cart_adds, 0) AS cart_adds,
       coalesce(s.orders, 0) AS orders,
       coalesce(s.paid_orders, 0) AS paid_orders,
       coalesce(s.paying_users, 0) AS paying_users,
       coalesce(s.gmv_fen, 0) AS gmv_fen
FROM visits v
FULL JOIN sales s ON s.key = v.room_id
ORDER BY gmv_fen DESC, visitors DESC, room_id
