-- Per day and page: WeChat's getVisitPage figures beside the SDK's
-- browse_wxapp_page views of the same page (days cut in the app's time
-- zone): page views and distinct users (open_id, else local_id), from the
-- roll-up of views per hour, page and user (or the raw events, see
-- page_rows). A page only one side saw has NULL on the other (WeChat) or 0
-- (SDK). diff_pv = sdk_pv - wx_pv.
-- WeChat's figures come from one source per day: the rows the merchant
-- pushed (add_wxapp_visit_page) when it pushed any for the day, as before
-- shuyuan could pull, else the rows shuyuan pulled (getVisitPage);
-- wx_source says which. pulled_pv is the pulled views whatever the
-- source, so a pushed day shows the pull beside it.
-- $1 time zone, $2 app, [$3, $4) UTC bounds, $5..$6 the local days.
WITH wx_rows AS (
    SELECT * FROM wxapp_visit_pages
    WHERE app_id = $2 AND ref_date BETWEEN CAST($5 AS DATE) AND CAST($6 AS DATE)
),
wx_days AS (
    SELECT ref_date, CASE WHEN bool_or(source = 'pushed') THEN 'pushed' ELSE 'pulled' END AS source
    FROM wx_rows GROUP BY 1
),
wx AS (
    SELECT r.ref_date AS day, r.page, max(d.source) AS source,
           CAST(sum(page_visit_pv) FILTER (WHERE r.source = d.source) AS BIGINT) AS pv,
           CAST(sum(page_visit_uv) FILTER (WHERE r.source = d.source) AS BIGINT) AS uv,
           -- page_staytime_pv is seconds per visit: weighted by visits if
           -- two paths name the same page.
           CAST(round(CASE WHEN sum(page_visit_pv) FILTER (WHERE r.source = d.source) > 0
                           THEN sum(page_staytime_pv * page_visit_pv) FILTER (WHERE r.source = d.source)
                                / sum(page_visit_pv) FILTER (WHERE r.source = d.source)
                           ELSE max(page_staytime_pv) FILTER (WHERE r.source = d.source) END * 1000) AS BIGINT) AS stay_ms,
           CAST(sum(entrypage_pv) FILTER (WHERE r.source = d.source) AS BIGINT) AS entry_pv,
           CAST(sum(exitpage_pv) FILTER (WHERE r.source = d.source) AS BIGINT) AS exit_pv,
           CAST(sum(page_share_pv) FILTER (WHERE r.source = d.source) AS BIGINT) AS share_pv,
           CAST(sum(page_share_uv) FILTER (WHERE r.source = d.source) AS BIGINT) AS share_uv,
           CAST(sum(page_visit_pv) FILTER (WHERE r.source = 'pulled') AS BIGINT) AS pulled_pv
    FROM wx_rows r
    JOIN wx_days d ON d.ref_date = r.ref_date
    GROUP BY 1, 2
),
{{template "days" .}},
{{- if .PGRollups}}
-- PostgreSQL: the views from the hourly sums, the users as in overview.sql
-- (store/postgres migration 0013).
{{template "day_cut" .}},
page_users AS (
    SELECT c.day, g.dim AS page, CAST(sum(g.n) AS BIGINT) AS uv
    FROM rollup_gaps g
    JOIN cut c ON c.hour = g.hour
    WHERE g.app_id = $2 AND g.pop = 5 AND g.hour >= $3 AND g.hour < $4 AND g.gap > c.into_day
    GROUP BY 1, 2
),
page_views AS (
    SELECT d.day, h.page, CAST(sum(h.views) AS BIGINT) AS pv
    FROM rollup_hour_sums h
    JOIN days d ON d.hour = h.hour
    WHERE h.app_id = $2 AND h.page IS NOT NULL AND h.hour >= $3 AND h.hour < $4
    GROUP BY 1, 2
),
sdk AS (
    SELECT v.day, v.page, v.pv, coalesce(u.uv, 0) AS uv
    FROM page_views v
    LEFT JOIN page_users u ON u.day = v.day AND u.page = v.page
)
{{- else}}
sdk AS (
    SELECT d.day, p.page, CAST(sum(p.views) AS BIGINT) AS pv, count(DISTINCT p.uid) AS uv
    FROM {{template "page_rows" .}} p
    JOIN days d ON d.hour = p.hour
    WHERE p.app_id = $2 AND p.hour >= $3 AND p.hour < $4
    GROUP BY d.day, p.page
)
{{- end}}
SELECT CAST(coalesce(wx.day, sdk.day) AS VARCHAR) AS day,
       coalesce(wx.page, sdk.page) AS page,
       wx.pv AS wx_pv, wx.uv AS wx_uv, wx.stay_ms AS wx_stay_ms, wx.entry_pv AS wx_entry_pv,
       wx.exit_pv AS wx_exit_pv, wx.share_pv AS wx_share_pv, wx.share_uv AS wx_share_uv,
       coalesce(sdk.pv, 0) AS sdk_pv, coalesce(sdk.uv, 0) AS sdk_uv,
       coalesce(sdk.pv, 0) - wx.pv AS diff_pv,
       wx.source AS wx_source, wx.pulled_pv AS pulled_pv
FROM wx FULL OUTER JOIN sdk ON sdk.day = wx.day AND sdk.page = wx.page
ORDER BY 1, 2
