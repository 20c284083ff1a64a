-- channels' visitors and sessions per value without counting distinct
-- users and sessions over every session row of the range at each question:
-- six count(DISTINCT) passes over 227 k rows, 1.1-1.6 s at 10 M events.
-- Twelve more populations of rollup_presence (migration 0013) hold them,
-- range populations like the SKUs' (migration 0014): per channel
-- dimension (chan_id, scene, chan_custom_cat_1, _2, _3, chan_custom_id, in
-- that order) its visitors (8 to 13) and its sessions (14 to 19), the
-- value as dim ('=' and the value, '' for none). Derived by RollUp
-- (sessionCounts in rollups.go) and, for a store rolled up before them,
-- filled from rollup_sessions when a node opens it (roll-up version 7,
-- upgradeRollups).
--
-- A build that does not know these populations refuses this migration,
-- instead of taking version 7 for an unknown definition and rolling up
-- every event again.
COMMENT ON TABLE rollup_presence IS
    'Presences per population (pop), dimension value (dim), member (key: a user or session hash) and hour, '
    'with the hours since the member''s presence before (gap, capped at 25 for pops 1-5, 32767 for 6-19). '
    'Pops: 1 visitors, 2 sessions, 3 searchers, 4 add-to-cart users, 5 a page''s users, 6 a SKU''s exposed users, '
    '7 its add-to-cart users, 8-13 visitors and 14-19 sessions per value of chan_id, scene, chan_custom_cat_1, '
    'chan_custom_cat_2, chan_custom_cat_3, chan_custom_id.';

-- An order reaches the chan_custom levels through the levels its
-- chan_custom_id carried in the range's session rows: the few rows with
-- an id, without reading all of the range's (45 ms to 13 ms for 30 days
-- at 10 M events).
CREATE INDEX rollup_sessions_custom ON rollup_sessions (app_id, hour)
    INCLUDE (chan_custom_id, chan_custom_cat_1, chan_custom_cat_2, chan_custom_cat_3)
    WHERE chan_custom_id IS NOT NULL;

-- rollup_gaps is split by population kind: with the channels' rows it
-- doubled (1.5 M rows at 10 M events), and every question, reading a few
-- populations, scanned all of it (skus: 220 ms to 540 ms). A list
-- partition per kind keeps each question to its own rows.
ALTER TABLE rollup_gaps RENAME TO rollup_gaps_unsplit;
ALTER TABLE rollup_gaps_unsplit RENAME CONSTRAINT rollup_gaps_pkey TO rollup_gaps_unsplit_pkey;
-- The same columns and primary key (its name freed above), partitioned.
CREATE TABLE rollup_gaps (LIKE rollup_gaps_unsplit INCLUDING ALL) PARTITION BY LIST (pop);
CREATE TABLE rollup_gaps_day PARTITION OF rollup_gaps FOR VALUES IN (1, 2, 3, 4, 5);
CREATE TABLE rollup_gaps_skus PARTITION OF rollup_gaps FOR VALUES IN (6, 7);
CREATE TABLE rollup_gaps_channels PARTITION OF rollup_gaps FOR VALUES IN (8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19);
INSERT INTO rollup_gaps SELECT * FROM rollup_gaps_unsplit;
DROP TABLE rollup_gaps_unsplit;

-- ads reads the session rows of ad visits only (a quarter of the demo's;
-- fewer in most stores), not every session row of the range: 135-150 ms
-- to 35-48 ms for 30 days at 10 M events.
CREATE INDEX rollup_sessions_ads ON rollup_sessions (app_id, hour)
    INCLUDE (ad_id, uid, cart_adds)
    WHERE ad_id IS NOT NULL;
