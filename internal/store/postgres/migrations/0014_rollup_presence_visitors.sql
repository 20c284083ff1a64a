-- The visitors' presences by hour (population 1 of rollup_presence, see
-- 0013): the presence whose gap exceeds the hours since its day began is
-- that user's first hour of the day, so these rows are the distinct
-- (user, day) pairs that retention reads, without every per-user row of
-- rollup_sessions and their DISTINCT.
CREATE INDEX rollup_presence_visitors ON rollup_presence (app_id, hour) INCLUDE (key, gap) WHERE pop = 1;
