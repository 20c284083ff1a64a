-- The shared store's schema: the tables of the embedded store (see
-- internal/store/duckdb/migrations), in PostgreSQL's types, with the
-- events range-partitioned by day of their time. Plain DDL, no extension,
-- so it runs on any managed PostgreSQL 15+.
--
-- Money is integer fen, times timestamptz; the SDK's props and context
-- stay as jsonb, so nothing the SDK sent is dropped.

-- Events: typed columns for what the analyses read, the event's own props,
-- a reference to the SDK context it was uploaded with, and the number of
-- the flush that stored it (seq), which the roll-ups follow.
CREATE TABLE events (
    app_id            text        NOT NULL,
    ts                timestamptz NOT NULL, -- client time (props.time), else received_at
    received_at       timestamptz NOT NULL,
    type              text        NOT NULL,
    kind              text        NOT NULL, -- behaviour | sdk | unknown
    sdk_from          text,
    tracking_id       text,
    log_id            bigint,
    dedup_key         bigint      NOT NULL,
    user_key          text,                 -- open_id, else local_id
    open_id           text,
    union_id          text,
    local_id          text,
    user_id           text,
    wx_appid          text,
    page              text,
    page_query        text,
    page_title        text,
    refer_page        text,
    scene             integer,
    chan_id           text,
    chan_refer_app_id text,
    guide_id          text,
    room_id           text,
    shop_id           text,
    shop_name         text,
    gdt_vid           text,
    weixinadinfo      text,
    qz_gdt            text,
    chan_custom_id    text,
    store_id          text,
    sku_id            text,
    spu_id            text,
    sku_name          text,
    price_fen         bigint,
    sku_num           bigint,
    action_type       text,
    keyword           text,
    stay_ms           bigint,
    share_to          text,
    order_id          text,
    order_status      text,
    order_fen         bigint,
    pay_fen           bigint,
    context_id        bigint,
    props             jsonb,
    click_id          text,
    ad_id             text,
    seq               bigint      NOT NULL,
    -- A re-send has the same app, client time and content key: the key
    -- skips it whatever node stores it, and contains the partition key.
    PRIMARY KEY (app_id, ts, dedup_key)
) PARTITION BY RANGE (ts);

-- The roll-ups read the flushes after their mark.
CREATE INDEX events_seq ON events (seq);

-- Flush numbers. They are handed out in the flushes' transactions, so they
-- do not commit in order; the roll-up mark only moves past a number once
-- every flush that may hold a smaller one has ended (rollups.go).
CREATE SEQUENCE event_flush_seq;

-- The SDK spreads the same context (wx_user, chan, system_info, ...) over
-- every event of an upload; it is kept once per distinct value.
CREATE TABLE event_contexts (
    app_id     text        NOT NULL,
    context_id bigint      NOT NULL,
    context    jsonb       NOT NULL,
    first_seen timestamptz NOT NULL,
    PRIMARY KEY (app_id, context_id)
);

-- Events that failed validation, kept with their raw JSON and the reason.
CREATE TABLE quarantine (
    app_id      text        NOT NULL,
    received_at timestamptz NOT NULL,
    source      text        NOT NULL, -- sdk | attribution
    type        text,
    reason      text        NOT NULL,
    raw         text        NOT NULL
);
CREATE INDEX quarantine_received ON quarantine (received_at);

-- One row per app, user and click: the user came through the ad click
-- first at first_seen. The user is open_id, else union_id (user_key).
CREATE TABLE ad_touches (
    app_id     text        NOT NULL,
    user_key   text        NOT NULL,
    open_id    text,
    union_id   text,
    click_id   text        NOT NULL,
    ad_id      text,
    first_seen timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_key, click_id)
);
CREATE INDEX ad_touches_open ON ad_touches (app_id, open_id);
CREATE INDEX ad_touches_union ON ad_touches (app_id, union_id);
CREATE INDEX ad_touches_click ON ad_touches (app_id, click_id);

-- The backend data-api: main orders (typed columns plus the order as
-- sent), goods lines, status history, daily totals, WeChat page visits and
-- data sources.
CREATE TABLE orders (
    app_id             text        NOT NULL,
    external_order_id  text        NOT NULL,
    create_time        timestamptz NOT NULL,
    order_source       text        NOT NULL,
    order_type         bigint      NOT NULL,
    brand_id           text,
    brand_name         text,
    goods_num_total    bigint      NOT NULL,
    goods_fen          bigint      NOT NULL,
    freight_fen        bigint      NOT NULL,
    order_fen          bigint      NOT NULL,
    payable_fen        bigint      NOT NULL,
    payment_fen        bigint      NOT NULL,
    status             bigint      NOT NULL,
    status_change_time timestamptz NOT NULL,
    paid_time          timestamptz,
    open_id            text,
    union_id           text,
    user_id            text,
    member_id          text,
    wx_appid           text,
    store_id           text,
    store_name         text,
    chan_id            text,
    chan_refer_app_id  text,
    chan_custom_id     text,
    chan_scene         bigint,
    guide_id           text,
    payment_type       text,
    coupon_fen         bigint,
    is_deleted         boolean     NOT NULL,
    goods_lines        bigint      NOT NULL,
    goods_hash         bigint      NOT NULL,
    raw                text        NOT NULL, -- the order as sent
    first_received_at  timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    -- Ids of the add_order calls that created the row, last replaced its
    -- snapshot, last changed its goods lines and first made it paid.
    created_call       bigint      NOT NULL,
    updated_call       bigint      NOT NULL,
    goods_call         bigint      NOT NULL,
    paid_call          bigint,
    PRIMARY KEY (app_id, external_order_id)
);
CREATE INDEX orders_created ON orders (app_id, create_time);
CREATE INDEX orders_paid ON orders (app_id, paid_time);

-- add_order call ids: unique across every node.
CREATE SEQUENCE order_call_seq;

CREATE TABLE order_goods (
    app_id            text    NOT NULL,
    external_order_id text    NOT NULL,
    line              integer NOT NULL,
    sku_id            text    NOT NULL,
    sku_name          text    NOT NULL,
    spu_id            text    NOT NULL,
    spu_name          text    NOT NULL,
    goods_fen         bigint  NOT NULL,
    payment_fen       bigint  NOT NULL,
    goods_num         bigint  NOT NULL,
    is_gift           boolean NOT NULL,
    category_id       text,
    category_name     text,
    store_id          text,
    store_name        text,
    chan_id           text,
    chan_custom_id    text,
    PRIMARY KEY (app_id, external_order_id, line)
);

CREATE TABLE order_status_history (
    app_id             text        NOT NULL,
    external_order_id  text        NOT NULL,
    status             bigint      NOT NULL,
    status_change_time timestamptz NOT NULL,
    received_at        timestamptz NOT NULL,
    PRIMARY KEY (app_id, external_order_id, status, status_change_time)
);

CREATE TABLE order_sums (
    app_id          text        NOT NULL,
    ref_date        date        NOT NULL,
    give_order_fen  bigint      NOT NULL,
    give_order_num  bigint      NOT NULL,
    payment_fen     bigint      NOT NULL,
    payed_num       bigint      NOT NULL,
    raw             text        NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (app_id, ref_date)
);

CREATE TABLE wxapp_visit_pages (
    app_id           text             NOT NULL,
    ref_date         date             NOT NULL,
    page_path        text             NOT NULL,
    page             text             NOT NULL,
    page_visit_pv    bigint           NOT NULL,
    page_visit_uv    bigint           NOT NULL,
    page_staytime_pv double precision NOT NULL,
    entrypage_pv     bigint           NOT NULL,
    exitpage_pv      bigint           NOT NULL,
    page_share_pv    bigint           NOT NULL,
    page_share_uv    bigint           NOT NULL,
    updated_at       timestamptz      NOT NULL,
    PRIMARY KEY (app_id, ref_date, page_path)
);

CREATE TABLE data_sources (
    app_id      text        NOT NULL,
    id          text        NOT NULL,
    type        bigint      NOT NULL,
    merchant_id text,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (app_id, id),
    UNIQUE (app_id, type)
);

-- The conversion outbox: claimed with FOR UPDATE SKIP LOCKED and a lease
-- (claimed_by, claimed_until); settled only by the lease's holder.
CREATE TABLE ad_conversions (
    id                 text        NOT NULL PRIMARY KEY,
    app_id             text        NOT NULL,
    kind               text        NOT NULL,
    ref_id             text        NOT NULL,
    action_type        text        NOT NULL,
    source             text        NOT NULL,
    open_id            text,
    union_id           text,
    occurred_at        timestamptz NOT NULL,
    value_fen          bigint,
    click_id           text,
    ad_id              text,
    touch_at           timestamptz,
    user_action_set_id bigint,
    payload            text,
    status             text        NOT NULL,
    attempts           integer     NOT NULL,
    created_at         timestamptz NOT NULL,
    deadline           timestamptz,
    next_attempt_at    timestamptz,
    claimed_until      timestamptz,
    last_attempt_at    timestamptz,
    delivered_at       timestamptz,
    last_error         text,
    last_class         text,
    claimed_by         text
);
CREATE INDEX ad_conversions_due ON ad_conversions (app_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX ad_conversions_app ON ad_conversions (app_id, created_at);
CREATE INDEX ad_conversions_occurred ON ad_conversions (app_id, occurred_at);

CREATE TABLE app_state (
    app_id     text        NOT NULL,
    key        text        NOT NULL,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, key)
);

CREATE TABLE data_api_nonces (
    app_id     text        NOT NULL,
    nonce      text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, nonce)
);
CREATE INDEX data_api_nonces_expiry ON data_api_nonces (expires_at);
