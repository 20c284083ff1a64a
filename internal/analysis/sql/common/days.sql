{{define "days"}}
-- The time buckets of the range and the local day each falls on: days are
-- cut once per bucket here, not once per row.
days AS (
    SELECT g AS hour, CAST(g AT TIME ZONE $1 AS DATE) AS day
    FROM generate_series(CAST($3 AS TIMESTAMPTZ),
                         CAST({{.DaysEnd}} AS TIMESTAMPTZ) - INTERVAL '1 second',
                         INTERVAL '{{.Bucket}} seconds') AS t(g)
){{end}}
