-- official-account reads two things from the range's session rows that
-- need not be every row: the distinct visitors, and the few rows with an
-- official-account entry. At 10 M events (246 k session rows in 30 days)
-- hashing every row's uid took ~130 ms and scanning every row for the
-- entries ~50 ms; with these indexes the whole question went from
-- 357–386 to 227–258 ms (median of 5, BENCHMARKS.md).

-- The visitors in uid order, read from the index alone (the distinct is a
-- walk over it, not a hash of every row).
CREATE INDEX rollup_sessions_uid ON rollup_sessions (app_id, uid, hour);

-- The rows that can be an official-account entry: an official-account
-- scene (the list of sql/official_account.sql, which must be kept alike:
-- the planner uses this index only when the query's list matches;
-- TestOfficialAccountSceneIndex in internal/analysis checks it), or a
-- chan_refer_app_id or chan_custom_id that ?accounts= or ?articles= may
-- name.
CREATE INDEX rollup_sessions_oa ON rollup_sessions (app_id, hour)
    INCLUDE (uid, scene, chan_refer_app_id, chan_custom_id)
    WHERE scene IN (1020, 1035, 1043, 1058, 1074, 1082, 1091, 1102, 1157)
       OR chan_refer_app_id IS NOT NULL
       OR chan_custom_id IS NOT NULL;
