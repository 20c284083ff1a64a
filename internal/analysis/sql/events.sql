{{- if .Raw}}
-- Per day (cut in the app's time zone) and per event type: events and
-- distinct users (user_key = open_id, else local_id), over the raw events.
SELECT CAST(day AS VARCHAR) AS day, type, kind, events, users
FROM (
    SELECT CAST(ts AT TIME ZONE $1 AS DATE) AS day, type,
           min(kind) AS kind,
           count(*) AS events,
           count(DISTINCT user_key) AS users
    FROM events
    WHERE app_id = $2 AND ts >= $3 AND ts < $4
    GROUP BY 1, 2
) per_day
ORDER BY 1, 2
{{- else}}
-- The same from the roll-ups: events per hour and type, and the users of
-- the known types as one bitmask per user and hour (bit i for the type of
-- bind parameter .Known[i]), so a day's users of every type come from one
-- row per user and day; the rare other types keep their users per row.
-- Grouped by the DATE, cast to text after: grouping by the text is slower.
WITH {{template "days" .}},
known(type, bit) AS (
    VALUES {{range $i, $k := .Known}}{{if $i}}, {{end}}(CAST({{$k}} AS VARCHAR), {{$i}}){{end}}
),
counted AS (
    SELECT d.day, t.type,
           min(t.kind) AS kind,
           CAST(sum(t.events) AS BIGINT) AS events,
           count(DISTINCT t.uid) AS other_users
    FROM rollup_event_types t
    JOIN days d ON d.hour = t.hour
    WHERE t.app_id = $2 AND t.hour >= $3 AND t.hour < $4
    GROUP BY d.day, t.type
),
user_days AS (
    SELECT d.day, bit_or(u.types) AS types
    FROM rollup_event_users u
    JOIN days d ON d.hour = u.hour
    WHERE u.app_id = $2 AND u.hour >= $3 AND u.hour < $4
    GROUP BY d.day, u.uid
),
-- Per day, the users of each known type, as a list indexed by bit + 1.
-- Most of a day's users share a few sets of types: testing every bit of
-- each set once, with its count of users, not of each user, is a fraction
-- of the work.
known_users AS (
    SELECT day, ARRAY[{{range $i, $k := .Known}}{{if $i}}, {{end}}CAST(coalesce(sum(n) FILTER (WHERE (types >> {{$i}}) & 1 = 1), 0) AS BIGINT){{end}}] AS users
    FROM (SELECT day, types, count(*) AS n FROM user_days GROUP BY day, types) s
    GROUP BY day
)
SELECT CAST(c.day AS VARCHAR) AS day, c.type, c.kind, c.events,
       coalesce(ku.users[k.bit + 1], c.other_users) AS users
FROM counted c
LEFT JOIN known k ON k.type = c.type
LEFT JOIN known_users ku ON ku.day = c.day
ORDER BY 1, 2
{{- end}}
