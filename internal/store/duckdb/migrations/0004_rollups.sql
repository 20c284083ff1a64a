-- Roll-ups of the behaviour events, so the analyses need not scan and count
-- distinct users over millions of raw rows. They are derived from the
-- committed events after the fact, by a high-water mark (migration 0012,
-- internal/store/duckdb/rollups.go); this file once said they were written
-- in the ingest transaction, which they no longer are.
--
-- Rows are partial aggregates: every flush appends its own rows, and a key
-- may therefore appear in several rows. Readers always re-aggregate (sums,
-- count(DISTINCT ...)), which gives the same figures whether a key has one
-- row or many; nothing relies on a key being unique.
--
-- Times are bucketed by UTC hour (hour = the start of the hour), which cuts
-- days exactly in every time zone whose offset is a whole number of hours;
-- analyses in other zones scan the events instead (internal/analysis).
--
-- uid is hash(user_key) and sid hash(tracking_id): counting distinct 64-bit
-- integers is several times faster than counting distinct strings.

-- Per app and user: the first behaviour event and the union_id, if any
-- event of the user carried one. Upserted: one row per user.
CREATE TABLE rollup_users (
    app_id   VARCHAR     NOT NULL,
    uid      UBIGINT     NOT NULL,
    first_ts TIMESTAMPTZ NOT NULL,
    union_id VARCHAR,
    PRIMARY KEY (app_id, uid)
);

-- Per app, hour, session, user and the channel values the events carried:
-- counts of the behaviours the analyses read.
CREATE TABLE rollup_sessions (
    app_id            VARCHAR     NOT NULL,
    hour              TIMESTAMPTZ NOT NULL,
    sid               UBIGINT,              -- NULL when the events had no tracking_id
    uid               UBIGINT     NOT NULL,
    chan_id           VARCHAR,
    scene             INTEGER,
    chan_refer_app_id VARCHAR,
    chan_custom_id    VARCHAR,
    chan_custom_cat_1 VARCHAR,
    chan_custom_cat_2 VARCHAR,
    chan_custom_cat_3 VARCHAR,
    guide_id          VARCHAR,
    room_id           VARCHAR,
    shop_id           VARCHAR,
    shop_name         VARCHAR,
    events            BIGINT      NOT NULL, -- behaviour events
    page_views        BIGINT      NOT NULL, -- browse_wxapp_page
    stay_ms           BIGINT      NOT NULL, -- sum of leave_wxapp_page stay_time
    shares            BIGINT      NOT NULL, -- page_share_app_message
    searches          BIGINT      NOT NULL, -- search
    exposures         BIGINT      NOT NULL, -- expose_sku_component
    clicks            BIGINT      NOT NULL, -- trigger_sku_component
    detail_views      BIGINT      NOT NULL, -- browse_sku_page
    cart_adds         BIGINT      NOT NULL, -- add_to_cart, not remove_from_cart
    cart_units        BIGINT      NOT NULL  -- their sku_num
);

-- Per app, hour, SKU and user: the SKU behaviours.
CREATE TABLE rollup_skus (
    app_id       VARCHAR     NOT NULL,
    hour         TIMESTAMPTZ NOT NULL,
    sku_id       VARCHAR     NOT NULL,
    uid          UBIGINT     NOT NULL,
    sku_name     VARCHAR,
    exposures    BIGINT      NOT NULL,
    clicks       BIGINT      NOT NULL,
    detail_views BIGINT      NOT NULL,
    cart_adds    BIGINT      NOT NULL,
    cart_units   BIGINT      NOT NULL
);

-- Which definition of the roll-ups the rows above follow, and the DuckDB
-- version whose hash() computed uid and sid. When either differs from the
-- running code's, the store rebuilds the roll-ups from the events on open
-- (internal/store/duckdb/rollups.go); this migration leaves it empty so the
-- events already stored are rolled up then.
CREATE TABLE rollup_state (
    version        INTEGER NOT NULL,
    duckdb_version VARCHAR NOT NULL,
    built_at       TIMESTAMPTZ NOT NULL
);
