{{define "days"}}
-- The time buckets of the range and the local day each falls on: days are
-- cut once per bucket here, not once per row.
days AS (
    SELECT g AS hour, CAST(g AT TIME ZONE $1 AS DATE) AS day
    FROM generate_series(CAST($3 AS TIMESTAMPTZ),
                         CAST({{.DaysEnd}} AS TIMESTAMPTZ) - INTERVAL '1 second',
                         INTERVAL '{{.Bucket}} seconds') AS t(g)
){{end}}


{{define "day_cut"}}
-- Each bucket of days and its hours into its day: a member of a
-- population counts in a day at its presence whose gap exceeds these
-- (PostgreSQL's day counts, store/postgres migration 0013).
cut AS (
    SELECT hour, day, extract(epoch FROM hour - min(hour) OVER (PARTITION BY day)) / 3600 AS into_day
    FROM days
){{end}}