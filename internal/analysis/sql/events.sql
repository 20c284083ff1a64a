-- Per day (cut in the app's time zone) and per event type: events and
-- distinct users (user_key = open_id, else local_id), from the roll-up of
-- events per hour, type and user (or the raw events, see event_type_rows).
-- Grouped by the DATE, cast to text after: grouping by the text is slower.
WITH {{template "days" .}}
SELECT CAST(day AS VARCHAR) AS day, type, kind, events, users
FROM (
    SELECT d.day, t.type,
           min(t.kind) AS kind,
           CAST(sum(t.events) AS BIGINT) AS events,
           count(DISTINCT t.uid) AS users
    FROM {{template "event_type_rows" .}} t
    JOIN days d ON d.hour = t.hour
    WHERE t.app_id = $2 AND t.hour >= $3 AND t.hour < $4
    GROUP BY d.day, t.type
) per_day
ORDER BY 1, 2
