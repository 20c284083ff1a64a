-- Per local day of the range: WeChat's own visit figures of the
-- mini-program (getDailyVisitTrend, pulled into wx_visit_trends; WeChat's
-- day, Beijing time, on the same date) beside shuyuan's figures of the day
-- as the overview counts them: sessions, visitors, new visitors and page
-- views of the SDK's behaviour events (roll-ups or raw events, see
-- session_rows). diff_* = shuyuan - WeChat. Every day of the range is
-- present; WeChat's figures are NULL on days not pulled.
-- docs/metrics.md defines every column.
-- $1 time zone, $2 app, [$3, $4) UTC bounds, $5..$6 the local days.
WITH {{template "days" .}},
calendar AS (
    SELECT DISTINCT day FROM days
),
activity AS (
    SELECT d.day,
           count(DISTINCT s.uid) AS visitors,
           count(DISTINCT s.sid) AS sessions,
           CAST(sum(s.page_views) AS BIGINT) AS page_views
    FROM {{template "session_rows" .}} s
    JOIN days d ON d.hour = s.hour
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4
    GROUP BY d.day
),
newcomers AS (
    SELECT d.day, count(*) AS new_visitors
    FROM {{template "user_rows" .}} u
    JOIN days d ON d.hour = {{bucket "u.first_ts" .Bucket}}
    WHERE u.app_id = $2 AND u.first_ts >= $3 AND u.first_ts < $4
    GROUP BY d.day
),
wx AS (
    SELECT ref_date AS day, session_cnt, visit_uv, visit_uv_new, visit_pv
    FROM wx_visit_trends
    WHERE app_id = $2 AND ref_date BETWEEN CAST($5 AS DATE) AND CAST($6 AS DATE)
)
SELECT CAST(c.day AS VARCHAR) AS day,
       w.session_cnt AS wx_sessions,
       coalesce(a.sessions, 0) AS sessions,
       coalesce(a.sessions, 0) - w.session_cnt AS diff_sessions,
       w.visit_uv AS wx_visitors,
       coalesce(a.visitors, 0) AS visitors,
       coalesce(a.visitors, 0) - w.visit_uv AS diff_visitors,
       w.visit_uv_new AS wx_new_visitors,
       coalesce(n.new_visitors, 0) AS new_visitors,
       w.visit_pv AS wx_page_views,
       coalesce(a.page_views, 0) AS page_views,
       coalesce(a.page_views, 0) - w.visit_pv AS diff_page_views
FROM calendar c
LEFT JOIN activity a ON a.day = c.day
LEFT JOIN newcomers n ON n.day = c.day
LEFT JOIN wx w ON w.day = c.day
ORDER BY c.day
