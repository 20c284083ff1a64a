-- Distinct users per SKU over a whole range without reading one row per
-- (SKU, user, hour): skus' exposure and add-to-cart users read
-- rollup_gaps, and its sums rollup_sku_hours, instead of every row of
-- rollup_skus in the range (1.6 M rows for 30 days at 10 M events, 2-3.5 s
-- on PostgreSQL). Derived by RollUp (rollups.go) and, for a store rolled
-- up before them, filled from rollup_skus when a node opens it (roll-up
-- version 5, upgradeRollups).
--
-- Two more populations of rollup_presence, whose dim is the SKU id and
-- key the user: 6 the users a SKU was exposed to, 7 those who added it to
-- their cart. Their gap is not capped at 25 hours but at 32767 (smallint's
-- largest, more than any range an analysis takes): a member counts once
-- in a range whose first hour is r, at its first presence h in it, the
-- one whose gap exceeds h - r. So the sum over the range's hours of n
-- where gap > h - r is the range's distinct members. On the benchmark's
-- 10 M store, 77 % of the exposures' presences are a pair's first (gap
-- 32767), and rollup_gaps holds about 10 rows per SKU and hour.

-- rollup_sku_hours: partial sums per hour and SKU of rollup_skus, which
-- readers add up.
CREATE TABLE rollup_sku_hours (
    app_id       text        NOT NULL,
    hour         timestamptz NOT NULL,
    sku_id       text        NOT NULL,
    sku_name     text,
    exposures    bigint      NOT NULL,
    clicks       bigint      NOT NULL,
    detail_views bigint      NOT NULL,
    cart_units   bigint      NOT NULL
);
CREATE INDEX rollup_sku_hours_hour ON rollup_sku_hours (app_id, hour);

-- Gaps are now computed as presences go in (presenceCounts in rollups.go),
-- never left at -1 for a second statement to find: the partial index of
-- 0013 that found them has nothing left to index.
DROP INDEX rollup_presence_unset;
