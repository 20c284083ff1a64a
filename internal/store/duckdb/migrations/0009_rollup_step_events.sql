-- The events of event.StepTypes (launch, search, SKU click and detail, cart,
-- order, share) in a narrow table of their own, one row per event: the
-- funnel and search analyses follow users event by event, and these types
-- are about a sixth of all events. uid and sid are hash(user_key) and
-- hash(tracking_id), NULL when those are. Filled on open: rollup_state
-- names an older version.
CREATE TABLE rollup_step_events (
    app_id       VARCHAR     NOT NULL,
    ts           TIMESTAMPTZ NOT NULL,
    uid          UBIGINT,
    sid          UBIGINT,
    type         VARCHAR     NOT NULL,
    sku_id       VARCHAR,
    action_type  VARCHAR,
    order_status VARCHAR,
    keyword      VARCHAR,
    share_to     VARCHAR,
    page         VARCHAR,
    guide_id     VARCHAR,
    room_id      VARCHAR,
    ad_id        VARCHAR,
    shop_id      VARCHAR,
    chan_id      VARCHAR
);
