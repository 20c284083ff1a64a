-- Events: typed columns for what the analyses read, the event's own props as
-- JSON, and a reference to the SDK context it was uploaded with.
CREATE TABLE events (
    app_id            VARCHAR     NOT NULL,
    ts                TIMESTAMPTZ NOT NULL, -- client time (props.time), else received_at
    received_at       TIMESTAMPTZ NOT NULL,
    type              VARCHAR     NOT NULL,
    kind              VARCHAR     NOT NULL, -- behaviour | sdk | unknown
    sdk_from          VARCHAR,
    tracking_id       VARCHAR,
    log_id            BIGINT,
    dedup_key         BIGINT      NOT NULL,
    user_key          VARCHAR,              -- open_id, else local_id
    open_id           VARCHAR,
    union_id          VARCHAR,
    local_id          VARCHAR,
    user_id           VARCHAR,
    wx_appid          VARCHAR,
    page              VARCHAR,
    page_query        VARCHAR,
    page_title        VARCHAR,
    refer_page        VARCHAR,
    scene             INTEGER,
    chan_id           VARCHAR,
    chan_refer_app_id VARCHAR,
    guide_id          VARCHAR,
    room_id           VARCHAR,
    shop_id           VARCHAR,
    shop_name         VARCHAR,
    gdt_vid           VARCHAR,
    weixinadinfo      VARCHAR,
    qz_gdt            VARCHAR,
    chan_custom_id    VARCHAR,
    store_id          VARCHAR,
    sku_id            VARCHAR,
    spu_id            VARCHAR,
    sku_name          VARCHAR,
    price_fen         BIGINT,
    sku_num           BIGINT,
    action_type       VARCHAR,
    keyword           VARCHAR,
    stay_ms           BIGINT,
    share_to          VARCHAR,
    order_id          VARCHAR,
    order_status      VARCHAR,
    order_fen         BIGINT,
    pay_fen           BIGINT,
    context_id        BIGINT,
    props             JSON
);

-- The SDK spreads the same context (wx_user, chan, system_info, ...) over
-- every event of an upload; it is kept once per distinct value.
CREATE TABLE event_contexts (
    app_id     VARCHAR     NOT NULL,
    context_id BIGINT      NOT NULL,
    context    JSON        NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, context_id)
);

-- Events that failed validation, kept with their raw JSON and the reason.
CREATE TABLE quarantine (
    app_id      VARCHAR     NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source      VARCHAR     NOT NULL, -- sdk | attribution | ...
    type        VARCHAR,
    reason      VARCHAR     NOT NULL,
    raw         VARCHAR     NOT NULL
);

-- Write-path staging: a flush is appended here, then moved into events
-- without the rows already stored, in the same transaction.
CREATE TABLE staging_events AS SELECT 0::INTEGER AS batch_no, * FROM events LIMIT 0;
CREATE TABLE staging_contexts AS SELECT * FROM event_contexts LIMIT 0;
