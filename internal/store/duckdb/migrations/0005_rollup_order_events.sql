-- A roll-up added after 0004 (internal/store/duckdb/rollups.go fills it
-- from the committed events (0012); a store migrated before it is
-- rebuilt on open, rollup_state naming an older roll-up version).
--
-- The SDK's custom_order events, in a narrow table of their own: the
-- analyses read every order's events (an order paid in the range may have
-- been placed long before it), which would otherwise mean scanning all the
-- events for a type that is about 1 % of them.
CREATE TABLE rollup_order_events (
    app_id            VARCHAR     NOT NULL,
    ts                TIMESTAMPTZ NOT NULL,
    order_id          VARCHAR     NOT NULL,
    order_status      VARCHAR,
    pay_fen           BIGINT,
    tracking_id       VARCHAR,
    user_key          VARCHAR,
    union_id          VARCHAR,
    chan_id           VARCHAR,
    scene             INTEGER,
    chan_refer_app_id VARCHAR,
    chan_custom_id    VARCHAR,
    guide_id          VARCHAR,
    room_id           VARCHAR,
    shop_id           VARCHAR,
    shop_name         VARCHAR
);
