-- Per local day and ad id: the visitors WeChat ads brought, what they did,
-- the paid orders credited to the ads and the conversions sent for them.
-- $1 time zone, $2 app, $3/$4 UTC bounds; {{.Window}} the attribution
-- window in seconds. docs/metrics.md ("ads") defines every figure. ad_id
-- '' is a click id that came without weixinadinfo.
-- The visits come from the session roll-up (its ad_id is set on the rows
-- of events that carried a click id), first visits from the user roll-up.
-- Orders are every order once, by the rule of every analysis (all_orders:
-- the backend's where it reports the order, else the SDK's), each credited
-- to its buyer's last ad touch inside the window before its payment; only
-- the conversion columns read the outbox, whose one source per app is
-- what is sent to WeChat.
WITH {{template "all_orders" .}},
{{template "days" .}},
first_days AS (
    SELECT u.uid, d.day
    FROM {{template "user_rows" .}} u
    JOIN days d ON d.hour = {{bucket "u.first_ts" .Bucket}}
    WHERE u.app_id = $2 AND u.first_ts >= $3 AND u.first_ts < $4
),
ad_rows AS (
    SELECT d.day, s.ad_id, s.uid, s.cart_adds
    FROM {{template "session_rows" .}} s
    JOIN days d ON d.hour = s.hour
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4 AND s.ad_id IS NOT NULL
),
visits AS (
    SELECT a.day, a.ad_id,
           count(DISTINCT a.uid) AS visitors,
           count(DISTINCT a.uid) FILTER (WHERE f.day = a.day) AS new_visitors,
           count(DISTINCT a.uid) FILTER (WHERE a.cart_adds > 0) AS cart_users
    FROM ad_rows a
    LEFT JOIN first_days f ON f.uid = a.uid
    GROUP BY a.day, a.ad_id
),
paid AS MATERIALIZED (
    SELECT order_id, paid_at, paid_fen, payer_uid, union_id
    FROM all_orders
    WHERE paid_at >= $3 AND paid_at < $4
),
-- The touches that can be the last before a payment of the range, keyed as
-- the orders' buyers are: hash(open_id), and union_id.
touches AS (
    SELECT CASE WHEN open_id IS NOT NULL THEN {{hash "open_id"}} END AS uid, union_id,
           click_id, coalesce(ad_id, '') AS ad_id, first_seen
    FROM ad_touches
    WHERE app_id = $2 AND first_seen < $4
      AND first_seen >= CAST($3 AS TIMESTAMPTZ) - {{.Window}} * INTERVAL '1 second'
),
candidates AS (
    SELECT p.order_id, t.click_id, t.ad_id, t.first_seen
    FROM paid p JOIN touches t ON t.uid = p.payer_uid
    WHERE t.first_seen <= p.paid_at AND t.first_seen >= p.paid_at - {{.Window}} * INTERVAL '1 second'
    UNION ALL
    SELECT p.order_id, t.click_id, t.ad_id, t.first_seen
    FROM paid p JOIN touches t ON t.union_id = p.union_id
    WHERE t.first_seen <= p.paid_at AND t.first_seen >= p.paid_at - {{.Window}} * INTERVAL '1 second'
),
-- The last touch wins; the click id breaks ties (attribution.LastTouches).
credited AS (
    SELECT order_id, ad_id
    FROM (SELECT order_id, ad_id,
                 row_number() OVER (PARTITION BY order_id ORDER BY first_seen DESC, click_id DESC) AS n
          FROM candidates) c
    WHERE n = 1
),
sales AS (
    SELECT CAST(p.paid_at AT TIME ZONE $1 AS DATE) AS day, c.ad_id,
           count(*) AS orders,
           count(DISTINCT p.payer_uid) AS paying_users,
           CAST(sum(p.paid_fen) AS BIGINT) AS gmv_fen
    FROM paid p
    JOIN credited c ON c.order_id = p.order_id
    GROUP BY 1, 2
),
convs AS (
    SELECT CAST(occurred_at AT TIME ZONE $1 AS DATE) AS day, coalesce(ad_id, '') AS ad_id,
           count(*) FILTER (WHERE status = 'delivered') AS reported,
           count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE status = 'dead') AS dead,
           count(*) FILTER (WHERE resends > 0) AS resent
    FROM ad_conversions
    WHERE app_id = $2 AND occurred_at >= $3 AND occurred_at < $4 AND click_id IS NOT NULL
    GROUP BY 1, 2
),
keys AS (
    SELECT day, ad_id FROM visits
    UNION SELECT day, ad_id FROM sales
    UNION SELECT day, ad_id FROM convs
)
SELECT CAST(k.day AS VARCHAR) AS day,
       k.ad_id,
       coalesce(v.visitors, 0) AS visitors,
       coalesce(v.new_visitors, 0) AS new_visitors,
       coalesce(v.cart_users, 0) AS cart_users,
       coalesce(s.orders, 0) AS orders,
       coalesce(s.paying_users, 0) AS paying_users,
       coalesce(s.gmv_fen, 0) AS gmv_fen,
       coalesce(c.reported, 0) AS reported,
       coalesce(c.pending, 0) AS pending,
       coalesce(c.dead, 0) AS dead,
       coalesce(c.resent, 0) AS resent
FROM keys k
LEFT JOIN visits v ON v.day = k.day AND v.ad_id = k.ad_id
LEFT JOIN sales s ON s.day = k.day AND s.ad_id = k.ad_id
LEFT JOIN convs c ON c.day = k.day AND c.ad_id = k.ad_id
ORDER BY 1, 2
