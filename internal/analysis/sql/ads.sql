-- Per local day and ad id: the visitors WeChat ads brought, what they did,
-- and the conversions credited to the ads with their delivery state.
-- $1 time zone, $2 app, $3/$4 UTC bounds. docs/metrics.md ("ads") defines
-- every figure. ad_id '' is a click id that came without weixinadinfo.
-- The visits come from the session roll-up (its ad_id is set on the rows
-- of events that carried a click id), first visits from the user roll-up.
WITH {{template "days" .}},
first_days AS (
    SELECT u.uid, d.day
    FROM {{template "user_rows" .}} u
    JOIN days d ON d.hour = to_timestamp(floor(extract(epoch FROM u.first_ts) / {{.Bucket}}) * {{.Bucket}})
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
convs AS (
    SELECT CAST(occurred_at AT TIME ZONE $1 AS DATE) AS day, coalesce(ad_id, '') AS ad_id,
           count(*) FILTER (WHERE kind = 'order') AS orders,
           count(DISTINCT coalesce(open_id, union_id)) FILTER (WHERE kind = 'order') AS paying_users,
           CAST(coalesce(sum(value_fen) FILTER (WHERE kind = 'order'), 0) AS BIGINT) AS gmv_fen,
           count(*) FILTER (WHERE status = 'delivered') AS reported,
           count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE status = 'dead') AS dead
    FROM ad_conversions
    WHERE app_id = $2 AND occurred_at >= $3 AND occurred_at < $4 AND click_id IS NOT NULL
    GROUP BY 1, 2
)
SELECT CAST(coalesce(v.day, c.day) AS VARCHAR) AS day,
       coalesce(v.ad_id, c.ad_id) AS ad_id,
       coalesce(v.visitors, 0) AS visitors,
       coalesce(v.new_visitors, 0) AS new_visitors,
       coalesce(v.cart_users, 0) AS cart_users,
       coalesce(c.orders, 0) AS orders,
       coalesce(c.paying_users, 0) AS paying_users,
       coalesce(c.gmv_fen, 0) AS gmv_fen,
       coalesce(c.reported, 0) AS reported,
       coalesce(c.pending, 0) AS pending,
       coalesce(c.dead, 0) AS dead
FROM visits v
FULL OUTER JOIN convs c ON c.day = v.day AND c.ad_id = v.ad_id
ORDER BY 1, 2
