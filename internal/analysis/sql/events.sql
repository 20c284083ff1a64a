-- Per day (cut in the app's time zone) and per event type: events and
-- distinct users (user_key = open_id, else local_id), from the roll-up of
-- events per hour, type and user (or the raw events, see event_type_rows).
WITH {{template "days" .}}
SELECT CAST(d.day AS VARCHAR) AS day,
       t.type,
       min(t.kind) AS kind,
       CAST(sum(t.events) AS BIGINT) AS events,
       count(DISTINCT t.uid) AS users
FROM {{template "event_type_rows" .}} t
JOIN days d ON d.hour = t.hour
WHERE t.app_id = $2 AND t.hour >= $3 AND t.hour < $4
GROUP BY 1, 2
ORDER BY 1, 2
