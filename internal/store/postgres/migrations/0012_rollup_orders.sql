-- One row per SDK order (custom_order events), derived from
-- rollup_order_events by RollUp: the figures the analyses' sdk_orders
-- builds from an order's events, so that they read one row per order
-- instead of sorting every event of every order of the range twice (on
-- PostgreSQL that took ~300 ms of most analyses at 10 M events). last_ts
-- is the order's latest event: a row is what the analyses would compute
-- for any range ending after it; orders with an event after the range's
-- end are still computed from their events (internal/analysis,
-- sql/common/sdk_orders.sql). It is filled when a node opens the store
-- (roll-up version 3, rollups.go: addOrderRollup).
CREATE TABLE rollup_orders (
    app_id            text        NOT NULL,
    order_id          text        NOT NULL,
    last_ts           timestamptz NOT NULL,
    placed_at         timestamptz NOT NULL,
    paid_at           timestamptz,
    refunded_at       timestamptz,
    payed_fen         bigint      NOT NULL,
    refund_event_fen  bigint,
    placer            text,
    payer             text,
    union_id          text,
    chan_id           text,
    scene             integer,
    chan_refer_app_id text,
    chan_custom_id    text,
    guide_id          text,
    room_id           text,
    shop_id           text,
    shop_name         text,
    PRIMARY KEY (app_id, order_id)
);
CREATE INDEX rollup_orders_last ON rollup_orders (app_id, last_ts);
