-- Per day (cut in the app's time zone) and per event type: events and
-- distinct users (user_key = open_id, else local_id).
SELECT CAST(CAST(ts AT TIME ZONE $1 AS DATE) AS VARCHAR) AS day,
       type,
       min(kind) AS kind,
       count(*) AS events,
       count(DISTINCT user_key) AS users
FROM events
WHERE app_id = $2 AND ts >= $3 AND ts < $4
GROUP BY 1, 2
ORDER BY 1, 2
