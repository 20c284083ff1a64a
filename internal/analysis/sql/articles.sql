-- The article join (issue 12): per local day and official-account article,
-- WeChat's figures of the article (readers and sharers of the day from
-- oa_article_days, follows after reading from the daily steps of
-- oa_article_totals) beside shuyuan's own of the sessions whose events
-- carried one of the article's markers as chan_id (oa_article_markers) and
-- of the orders attributed to those markers (all_orders.chan_id). A marker
-- not matched to an article yet has a row of its own (msgid NULL).
-- Two more lines per day: 'no_marker', the sessions and orders of the
-- article scenes (1058 article, 1091 product card in an article) that
-- carried no marker; 'article_scenes', those of every session of those
-- scenes, beside WeChat's getVisitDistribution article source (key 18):
-- its sessions and visitors of the day.
-- docs/metrics.md defines every column.
-- $1 time zone, $2 app, [$3, $4) UTC bounds, $5..$6 the local days.
WITH {{template "days" .}},
{{template "all_orders" .}},
markers AS MATERIALIZED (
    SELECT marker, msgid FROM oa_article_markers WHERE app_id = $2
),
-- The row an article or marker goes to: its msgid, else the marker.
marker_rows AS (
    SELECT marker, msgid, CASE WHEN msgid IS NOT NULL THEN 'a:' || msgid ELSE 'm:' || marker END AS k
    FROM markers
),
sess AS MATERIALIZED (
    SELECT d.day, s.uid, s.sid, s.chan_id, mk.k,
           (s.scene IN (1058, 1091)) AS article_scene
    FROM {{template "session_rows" .}} s
    JOIN days d ON d.hour = s.hour
    LEFT JOIN marker_rows mk ON mk.marker = s.chan_id
    WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $4
      AND (mk.k IS NOT NULL OR s.scene IN (1058, 1091))
),
ords AS MATERIALIZED (
    SELECT o.placed_at, o.paid_at, o.placer_uid, o.paid_fen, mk.k,
           (o.scene IN (1058, 1091)) AS article_scene
    FROM all_orders o
    LEFT JOIN marker_rows mk ON mk.marker = o.chan_id
    WHERE mk.k IS NOT NULL OR o.scene IN (1058, 1091)
),
-- Each session and order once per line it belongs to.
sess_lines AS (
    SELECT day, 'article' AS kind, k, uid, sid FROM sess WHERE k IS NOT NULL
    UNION ALL
    SELECT day, 'no_marker', NULL, uid, sid FROM sess WHERE k IS NULL AND article_scene
    UNION ALL
    SELECT day, 'article_scenes', NULL, uid, sid FROM sess WHERE article_scene
),
ord_lines AS (
    SELECT 'article' AS kind, k, placed_at, paid_at, placer_uid, paid_fen FROM ords WHERE k IS NOT NULL
    UNION ALL
    SELECT 'no_marker', NULL, placed_at, paid_at, placer_uid, paid_fen FROM ords WHERE k IS NULL AND article_scene
    UNION ALL
    SELECT 'article_scenes', NULL, placed_at, paid_at, placer_uid, paid_fen FROM ords WHERE article_scene
),
visits AS (
    SELECT day, kind, k, count(DISTINCT sid) AS sessions, count(DISTINCT uid) AS visitors
    FROM sess_lines GROUP BY day, kind, k
),
placed AS (
    SELECT CAST(placed_at AT TIME ZONE $1 AS DATE) AS day, kind, k, count(DISTINCT placer_uid) AS ordering_users
    FROM ord_lines WHERE placed_at >= $3 AND placed_at < $4
    GROUP BY 1, kind, k
),
paid AS (
    SELECT CAST(paid_at AT TIME ZONE $1 AS DATE) AS day, kind, k,
           count(*) AS paid_orders, CAST(sum(paid_fen) AS BIGINT) AS gmv_fen
    FROM ord_lines WHERE paid_at >= $3 AND paid_at < $4
    GROUP BY 1, kind, k
),
-- WeChat's figures per article and day (WeChat's day, Beijing time, on the
-- same date).
reads AS (
    SELECT ref_date AS day, 'a:' || msgid AS k, read_user, share_user
    FROM oa_article_days
    WHERE app_id = $2 AND ref_date BETWEEN CAST($5 AS DATE) AND CAST($6 AS DATE)
),
-- oa_article_totals are cumulative from the publish date: a day's follows
-- are its step from the day before (from 0 on the publish date); unknown
-- when the day before was not pulled.
steps AS (
    SELECT msgid, stat_date, publish_date, read_subscribe_user,
           lag(stat_date) OVER (PARTITION BY msgid ORDER BY stat_date) AS prev_date,
           lag(read_subscribe_user) OVER (PARTITION BY msgid ORDER BY stat_date) AS prev_subscribe
    FROM oa_article_totals
    WHERE app_id = $2 AND stat_date <= CAST($6 AS DATE)
),
follows AS (
    SELECT stat_date AS day, 'a:' || msgid AS k,
           CASE WHEN stat_date = publish_date THEN read_subscribe_user
                WHEN CAST(stat_date - prev_date AS BIGINT) = 1 THEN read_subscribe_user - prev_subscribe END AS follows
    FROM steps
    WHERE stat_date >= CAST($5 AS DATE)
),
source18 AS (
    SELECT ref_date AS day,
           CAST(sum(value) FILTER (WHERE dist_index = 'access_source_session_cnt') AS BIGINT) AS wx_sessions,
           CAST(sum(value) FILTER (WHERE dist_index = 'access_source_visit_uv') AS BIGINT) AS wx_visitors
    FROM wx_visit_distributions
    WHERE app_id = $2 AND dist_key = 18 AND ref_date BETWEEN CAST($5 AS DATE) AND CAST($6 AS DATE)
    GROUP BY ref_date
),
keys AS (
    SELECT day, kind, k FROM visits
    UNION SELECT day, kind, k FROM placed
    UNION SELECT day, kind, k FROM paid
    UNION SELECT day, 'article', k FROM reads
    UNION SELECT day, 'article', k FROM follows WHERE follows IS NOT NULL AND follows <> 0
    UNION SELECT day, 'article_scenes', NULL FROM source18
),
-- The markers of each row, comma-separated.
marker_lists AS (
    SELECT k, string_agg(marker, ',' ORDER BY marker) AS markers FROM marker_rows GROUP BY k
)
SELECT CAST(ks.day AS VARCHAR) AS day, ks.kind,
       CASE WHEN ks.k LIKE 'a:%' THEN substr(ks.k, 3) END AS msgid,
       a.title,
       CAST(a.publish_date AS VARCHAR) AS published,
       ml.markers,
       r.read_user AS read_users,
       r.share_user AS share_users,
       f.follows,
       coalesce(v.sessions, 0) AS sessions,
       coalesce(v.visitors, 0) AS visitors,
       coalesce(pl.ordering_users, 0) AS ordering_users,
       coalesce(p.paid_orders, 0) AS paid_orders,
       coalesce(p.gmv_fen, 0) AS gmv_fen,
       w.wx_sessions AS wx_article_sessions,
       w.wx_visitors AS wx_article_visitors
FROM keys ks
LEFT JOIN oa_articles a ON a.app_id = $2 AND ks.k = 'a:' || a.msgid
LEFT JOIN marker_lists ml ON ml.k = ks.k
LEFT JOIN reads r ON r.day = ks.day AND r.k = ks.k
LEFT JOIN follows f ON f.day = ks.day AND f.k = ks.k
LEFT JOIN visits v ON v.day = ks.day AND v.kind = ks.kind AND v.k IS NOT DISTINCT FROM ks.k
LEFT JOIN placed pl ON pl.day = ks.day AND pl.kind = ks.kind AND pl.k IS NOT DISTINCT FROM ks.k
LEFT JOIN paid p ON p.day = ks.day AND p.kind = ks.kind AND p.k IS NOT DISTINCT FROM ks.k
LEFT JOIN source18 w ON w.day = ks.day AND ks.kind = 'article_scenes'
ORDER BY ks.day,
         CASE ks.kind WHEN 'article' THEN 1 WHEN 'no_marker' THEN 2 ELSE 3 END,
         coalesce(p.gmv_fen, 0) DESC, coalesce(v.sessions, 0) DESC, coalesce(r.read_user, 0) DESC, ks.k
