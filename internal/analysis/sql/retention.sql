-- Per first-visit day of the range: the users whose first behaviour event
-- ever fell on it, and the share of them with a behaviour event on the
-- day 1..7, 14 and 30 days later (those days may lie after the range; $5
-- ends the buckets read, 31 days after the range). A share is NULL while
-- its day is after $6, today in the app's zone.
WITH {{template "days" .}},
cohort AS (
    SELECT u.uid, d.day AS first_day
    FROM {{template "user_rows" .}} u
    JOIN days d ON d.hour = {{bucket "u.first_ts" .Bucket}}
    WHERE u.app_id = $2 AND u.first_ts >= $3 AND u.first_ts < $4
),
-- Each cohort user's days back, kept to the days asked for before they
-- are made distinct: most of a new user's hours are on their first day,
-- which no column reads (PostgreSQL: a third less time at 10 M events).
back AS (
    SELECT first_day, n, count(*) AS users
    FROM (SELECT DISTINCT c.uid, c.first_day, d.day - c.first_day AS n
          FROM {{template "session_rows" .}} s
          JOIN cohort c ON c.uid = s.uid
          JOIN days d ON d.hour = s.hour
          WHERE s.app_id = $2 AND s.hour >= $3 AND s.hour < $5
            AND d.day - c.first_day IN ({{range $i, $d := .Days}}{{if $i}}, {{end}}{{$d}}{{end}})) x
    GROUP BY first_day, n
),
sizes AS (
    SELECT first_day, count(*) AS users FROM cohort GROUP BY first_day
)
SELECT CAST(z.first_day AS VARCHAR) AS day,
       z.users AS new_users
       {{- range .Days}},
       CASE WHEN z.first_day + {{.}} > CAST($6 AS DATE) THEN NULL
            ELSE CAST(coalesce((SELECT b.users FROM back b WHERE b.first_day = z.first_day AND b.n = {{.}}), 0) AS DOUBLE PRECISION) / z.users
       END AS d{{.}}
       {{- end}}
FROM sizes z
ORDER BY z.first_day
