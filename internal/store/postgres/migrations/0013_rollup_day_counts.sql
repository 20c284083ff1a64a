-- Distinct users and sessions per local day without reading one row per
-- user: the analyses' per-day counts (overview's visitors, sessions,
-- searchers and add-to-cart users, pages' users per page) read
-- rollup_gaps, a few rows per hour, instead of every per-user row of
-- rollup_sessions and rollup_pages (PostgreSQL scans those row by row:
-- 0.4-0.8 s at 10 M events). Derived by RollUp (rollups.go) and, for a
-- store rolled up before them, filled from those roll-ups when a node
-- opens it (roll-up version 4, upgradeRollups).
--
-- rollup_presence: each hour a member of a population was seen, and the
-- hours since they were seen before (gap, capped at 25; -1 only inside a
-- roll-up slice, until it is computed). pop: 1 visitors (uid), 2 sessions
-- (sid), 3 searchers (uid), 4 add-to-cart users (uid), 5 a page's users
-- (uid; dim is the page, '' for the others).
CREATE TABLE rollup_presence (
    app_id text        NOT NULL,
    pop    smallint    NOT NULL,
    dim    text        NOT NULL,
    key    bigint      NOT NULL,
    hour   timestamptz NOT NULL,
    gap    smallint    NOT NULL,
    PRIMARY KEY (app_id, pop, dim, key, hour)
);
CREATE INDEX rollup_presence_unset ON rollup_presence (app_id, pop, dim, key) WHERE gap < 0;

-- rollup_gaps: how many members were seen in the hour after a gap of so
-- many hours. A member counts in a day (whose first hour is d) at the
-- first hour h of the day they were seen in, the one whose gap exceeds
-- the hours h - d: the sum over the day's hours of n where gap > h - d is
-- the day's distinct members. A day has at most 25 hours, hence the cap.
CREATE TABLE rollup_gaps (
    app_id text        NOT NULL,
    pop    smallint    NOT NULL,
    dim    text        NOT NULL,
    hour   timestamptz NOT NULL,
    gap    smallint    NOT NULL,
    n      bigint      NOT NULL,
    PRIMARY KEY (app_id, pop, dim, hour, gap)
);

-- rollup_hour_sums: partial sums per hour, which readers add up: with
-- page NULL, overview's page views and stay time (rollup_sessions'
-- page_views and stay_ms); per page, pages' views (rollup_pages').
CREATE TABLE rollup_hour_sums (
    app_id  text        NOT NULL,
    hour    timestamptz NOT NULL,
    page    text,
    views   bigint      NOT NULL,
    stay_ms bigint      NOT NULL
);
CREATE INDEX rollup_hour_sums_hour ON rollup_hour_sums (app_id, hour);
