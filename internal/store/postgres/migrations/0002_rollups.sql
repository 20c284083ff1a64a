-- The roll-ups the analyses read, as in the embedded store (migrations
-- 0004 to 0011 there): partial aggregates of the events by UTC hour, which
-- readers re-aggregate, derived from committed events by RollUp
-- (rollups.go). uid is hashtextextended(user_key, 0), sid that of
-- tracking_id: the analyses' SQL computes the same hash on PostgreSQL.

CREATE TABLE rollup_users (
    app_id   text        NOT NULL,
    uid      bigint      NOT NULL,
    first_ts timestamptz NOT NULL,
    union_id text,
    PRIMARY KEY (app_id, uid)
);
CREATE INDEX rollup_users_first ON rollup_users (app_id, first_ts);

CREATE TABLE rollup_sessions (
    app_id            text        NOT NULL,
    hour              timestamptz NOT NULL,
    sid               bigint,
    uid               bigint      NOT NULL,
    chan_id           text,
    scene             integer,
    chan_refer_app_id text,
    chan_custom_id    text,
    chan_custom_cat_1 text,
    chan_custom_cat_2 text,
    chan_custom_cat_3 text,
    guide_id          text,
    room_id           text,
    shop_id           text,
    shop_name         text,
    events            bigint      NOT NULL,
    page_views        bigint      NOT NULL,
    stay_ms           bigint      NOT NULL,
    shares            bigint      NOT NULL,
    searches          bigint      NOT NULL,
    exposures         bigint      NOT NULL,
    clicks            bigint      NOT NULL,
    detail_views      bigint      NOT NULL,
    cart_adds         bigint      NOT NULL,
    cart_units        bigint      NOT NULL,
    ad_id             text
);
CREATE INDEX rollup_sessions_hour ON rollup_sessions (app_id, hour);

CREATE TABLE rollup_skus (
    app_id       text        NOT NULL,
    hour         timestamptz NOT NULL,
    sku_id       text        NOT NULL,
    uid          bigint      NOT NULL,
    sku_name     text,
    exposures    bigint      NOT NULL,
    clicks       bigint      NOT NULL,
    detail_views bigint      NOT NULL,
    cart_adds    bigint      NOT NULL,
    cart_units   bigint      NOT NULL
);
CREATE INDEX rollup_skus_hour ON rollup_skus (app_id, hour);

CREATE TABLE rollup_order_events (
    app_id            text        NOT NULL,
    ts                timestamptz NOT NULL,
    order_id          text        NOT NULL,
    order_status      text,
    pay_fen           bigint,
    tracking_id       text,
    user_key          text,
    union_id          text,
    chan_id           text,
    scene             integer,
    chan_refer_app_id text,
    chan_custom_id    text,
    guide_id          text,
    room_id           text,
    shop_id           text,
    shop_name         text
);
CREATE INDEX rollup_order_events_order ON rollup_order_events (app_id, order_id);
CREATE INDEX rollup_order_events_ts ON rollup_order_events (app_id, ts);

CREATE TABLE rollup_event_types (
    app_id text        NOT NULL,
    hour   timestamptz NOT NULL,
    type   text        NOT NULL,
    kind   text        NOT NULL,
    uid    bigint,
    events bigint      NOT NULL
);
CREATE INDEX rollup_event_types_hour ON rollup_event_types (app_id, hour);

CREATE TABLE rollup_event_users (
    app_id text        NOT NULL,
    hour   timestamptz NOT NULL,
    uid    bigint      NOT NULL,
    types  bigint      NOT NULL
);
CREATE INDEX rollup_event_users_hour ON rollup_event_users (app_id, hour);

CREATE TABLE rollup_step_events (
    app_id       text        NOT NULL,
    ts           timestamptz NOT NULL,
    uid          bigint,
    sid          bigint,
    type         text        NOT NULL,
    sku_id       text,
    action_type  text,
    order_status text,
    keyword      text,
    share_to     text,
    page         text,
    guide_id     text,
    room_id      text,
    ad_id        text,
    shop_id      text,
    chan_id      text
);
CREATE INDEX rollup_step_events_ts ON rollup_step_events (app_id, ts);

CREATE TABLE rollup_pages (
    app_id text        NOT NULL,
    hour   timestamptz NOT NULL,
    page   text        NOT NULL,
    uid    bigint,
    views  bigint      NOT NULL
);
CREATE INDEX rollup_pages_hour ON rollup_pages (app_id, hour);

-- Which definition of the roll-ups the rows follow and the last flush
-- (events.seq) they hold; one row. A store whose definition differs from
-- the running code's is rebuilt from the events when a node opens it.
CREATE TABLE rollup_state (
    version    integer     NOT NULL,
    built_at   timestamptz NOT NULL,
    rolled_seq bigint      NOT NULL
);
