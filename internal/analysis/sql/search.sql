-- Per keyword (lower-cased, trimmed): searches, searchers, and the searches
-- followed by a SKU click (trigger_sku_component) in the same session before
-- that session's next search. Events of the range only; top $5 by searches.
-- Sessions and users are 64-bit hashes of tracking_id and user_key, which
-- sort and count much faster than the strings.
{{- if .PGRollups}}
-- PostgreSQL: each search with its first SKU click before its session's
-- next search, kept by the roll-ups by this same rule (store/postgres
-- migration 0015); a click at or after the range's end does not count.
WITH searches AS (
    SELECT keyword, uid, CASE WHEN first_click < $4 THEN 1 ELSE 0 END AS clicks
    FROM rollup_searches
    WHERE app_id = $2 AND ts >= $3 AND ts < $4
)
{{- else}}
WITH ev AS (
    SELECT sid, ts, type, uid,
           CASE WHEN type = 'search' THEN {{lower "trim(keyword)"}} END AS keyword
    FROM {{template "step_rows" .}} e
    WHERE app_id = $2 AND ts >= $3 AND ts < $4
      AND type IN ('search', 'trigger_sku_component')
),
-- Number the searches of each session; a click takes the number of the
-- latest search before it (a search and a click of the same instant: the
-- search first).
numbered AS (
    SELECT sid, type, uid, keyword,
           sum(CASE WHEN type = 'search' THEN 1 ELSE 0 END) OVER (
               PARTITION BY sid ORDER BY ts, type
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n
    FROM ev
),
searches AS (
    SELECT max(keyword) FILTER (WHERE type = 'search') AS keyword,
           max(uid) FILTER (WHERE type = 'search') AS uid,
           count(*) FILTER (WHERE type = 'trigger_sku_component') AS clicks
    FROM numbered
    WHERE n > 0
    GROUP BY sid, n
)
{{- end}}
SELECT keyword,
       count(*) AS searches,
       count(DISTINCT uid) AS searchers,
       count(*) FILTER (WHERE clicks > 0) AS searches_clicked,
       CAST(count(*) FILTER (WHERE clicks > 0) AS DOUBLE PRECISION) / count(*) AS click_rate
FROM searches
GROUP BY keyword
ORDER BY searches DESC, keyword
LIMIT $5
