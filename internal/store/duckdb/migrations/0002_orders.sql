-- The backend data-api: main orders (typed columns the analyses read plus
-- the whole order as sent), their goods lines and status history, the
-- merchant's daily totals, WeChat's page-visit reports and data sources.
-- Money is integer fen; times are UTC.
CREATE TABLE orders (
    app_id             VARCHAR     NOT NULL,
    external_order_id  VARCHAR     NOT NULL,
    create_time        TIMESTAMPTZ NOT NULL,
    order_source       VARCHAR     NOT NULL,
    order_type         BIGINT      NOT NULL,
    brand_id           VARCHAR,
    brand_name         VARCHAR,
    goods_num_total    BIGINT      NOT NULL,
    goods_fen          BIGINT      NOT NULL, -- goods_amount_total
    freight_fen        BIGINT      NOT NULL,
    order_fen          BIGINT      NOT NULL, -- order_amount
    payable_fen        BIGINT      NOT NULL,
    payment_fen        BIGINT      NOT NULL,
    status             BIGINT      NOT NULL, -- order_status of the newest snapshot
    status_change_time TIMESTAMPTZ NOT NULL,
    paid_time          TIMESTAMPTZ,          -- earliest time of a paid status
    open_id            VARCHAR,
    union_id           VARCHAR,
    user_id            VARCHAR,
    member_id          VARCHAR,
    wx_appid           VARCHAR,
    store_id           VARCHAR,
    store_name         VARCHAR,
    chan_id            VARCHAR,
    chan_refer_app_id  VARCHAR,
    chan_custom_id     VARCHAR,
    chan_scene         BIGINT,
    guide_id           VARCHAR,
    payment_type       VARCHAR,
    coupon_fen         BIGINT,
    is_deleted         BOOLEAN     NOT NULL,
    goods_lines        BIGINT      NOT NULL,
    goods_hash         BIGINT      NOT NULL, -- of the typed goods lines, to skip rewriting unchanged ones
    -- The order exactly as sent: JSON text, checked when it was read.
    -- DuckDB's json functions read it as is (json_extract(raw, '$.x')).
    -- Not the JSON type: the driver's appender re-encodes those values,
    -- which costs the write path more than the rest of the order.
    raw                VARCHAR     NOT NULL,
    first_received_at  TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    -- Ids of the add_order calls that created the row, last replaced its
    -- snapshot, last changed its goods lines and first made it paid: one
    -- upsert statement can then tell (through RETURNING) what it did to
    -- each order.
    created_call       BIGINT      NOT NULL,
    updated_call       BIGINT      NOT NULL,
    goods_call         BIGINT      NOT NULL,
    paid_call          BIGINT,
    PRIMARY KEY (app_id, external_order_id)
);

-- One row per goods_info line of the stored snapshot.
CREATE TABLE order_goods (
    app_id            VARCHAR NOT NULL,
    external_order_id VARCHAR NOT NULL,
    line              INTEGER NOT NULL, -- index in goods_info
    sku_id            VARCHAR NOT NULL,
    sku_name          VARCHAR NOT NULL,
    spu_id            VARCHAR NOT NULL,
    spu_name          VARCHAR NOT NULL,
    goods_fen         BIGINT  NOT NULL, -- unit list price
    payment_fen       BIGINT  NOT NULL, -- paid for the whole line
    goods_num         BIGINT  NOT NULL,
    is_gift           BOOLEAN NOT NULL,
    category_id       VARCHAR,
    category_name     VARCHAR,
    store_id          VARCHAR,
    store_name        VARCHAR,
    chan_id           VARCHAR,
    chan_custom_id    VARCHAR
);

-- Every status an order was reported in, once each.
CREATE TABLE order_status_history (
    app_id             VARCHAR     NOT NULL,
    external_order_id  VARCHAR     NOT NULL,
    status             BIGINT      NOT NULL,
    status_change_time TIMESTAMPTZ NOT NULL,
    received_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, external_order_id, status, status_change_time)
);

-- The merchant's own daily totals (add_order_sum).
CREATE TABLE order_sums (
    app_id          VARCHAR     NOT NULL,
    ref_date        DATE        NOT NULL,
    give_order_fen  BIGINT      NOT NULL,
    give_order_num  BIGINT      NOT NULL,
    payment_fen     BIGINT      NOT NULL,
    payed_num       BIGINT      NOT NULL,
    raw             JSON        NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, ref_date)
);

-- WeChat's daily getVisitPage report (add_wxapp_visit_page).
CREATE TABLE wxapp_visit_pages (
    app_id           VARCHAR     NOT NULL,
    ref_date         DATE        NOT NULL,
    page_path        VARCHAR     NOT NULL, -- as sent
    page             VARCHAR     NOT NULL, -- without leading "/" or query, like events.page
    page_visit_pv    BIGINT      NOT NULL,
    page_visit_uv    BIGINT      NOT NULL,
    page_staytime_pv DOUBLE      NOT NULL, -- average seconds per visit
    entrypage_pv     BIGINT      NOT NULL,
    exitpage_pv      BIGINT      NOT NULL,
    page_share_pv    BIGINT      NOT NULL,
    page_share_uv    BIGINT      NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, ref_date, page_path)
);

-- Data sources ("data warehouses") the calls name as dataSourceId.
CREATE TABLE data_sources (
    app_id      VARCHAR     NOT NULL,
    id          VARCHAR     NOT NULL,
    type        BIGINT      NOT NULL,
    merchant_id VARCHAR,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, id),
    UNIQUE (app_id, type)
);

-- Write-path staging, emptied in the transaction that fills it.
CREATE TABLE staging_orders AS SELECT * FROM orders LIMIT 0;
CREATE TABLE staging_order_history AS SELECT * FROM order_status_history LIMIT 0;
CREATE TABLE staging_visit_pages AS SELECT * FROM wxapp_visit_pages LIMIT 0;
