{{define "range_firsts"}}
-- PostgreSQL's range populations (store/postgres: the SKUs', the
-- channels'), those whose pop is {{.}}, as rows g of rollup_gaps: a member
-- counts once in a range, at its first hour in it, the one whose gap
-- exceeds the hours since the range began (written without arithmetic on
-- extract(epoch), which is numeric there and slow per row).
rollup_gaps g
    WHERE g.app_id = $2 AND g.pop {{.}} AND g.hour >= $3 AND g.hour < $4
      AND g.hour < CAST($3 AS TIMESTAMPTZ) + g.gap * INTERVAL '1 hour'{{end}}
