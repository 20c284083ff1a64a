-- The WeChat Ads loop: the click id and ad id of every event, each user's ad
-- touches, the conversions with their delivery state (the outbox), and small
-- per-app state such as the WeChat data source id.

-- The click id (gdt_vid, else weixinadinfo field 2, else qz_gdt) and the ad
-- id (weixinadinfo field 1) found on the event; NULL when there is none or
-- it is malformed (then it is in the quarantine with source attribution).
ALTER TABLE events ADD COLUMN click_id VARCHAR;
ALTER TABLE events ADD COLUMN ad_id VARCHAR;
ALTER TABLE staging_events ADD COLUMN click_id VARCHAR;
ALTER TABLE staging_events ADD COLUMN ad_id VARCHAR;

-- One row per app, user and click: the user saw the ad click first at
-- first_seen. The user is open_id, else union_id (user_key); both are kept
-- so a conversion that names either finds the touch.
CREATE TABLE ad_touches (
    app_id     VARCHAR     NOT NULL,
    user_key   VARCHAR     NOT NULL, -- open_id, else union_id
    open_id    VARCHAR,
    union_id   VARCHAR,
    click_id   VARCHAR     NOT NULL,
    ad_id      VARCHAR,
    first_seen TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, user_key, click_id)
);

-- Conversions: every paid order and lead the rules turned into an action,
-- attributed or not, and the outbox state of those to report. The id is
-- deterministic (app, order or lead id, action type), so a fact sent many
-- times is one row.
CREATE TABLE ad_conversions (
    id                 VARCHAR     NOT NULL PRIMARY KEY,
    app_id             VARCHAR     NOT NULL,
    kind               VARCHAR     NOT NULL, -- order | lead | api
    ref_id             VARCHAR     NOT NULL, -- order id, lead id, or the caller's action id
    action_type        VARCHAR     NOT NULL, -- COMPLETE_ORDER | RESERVATION | CONFIRM_EFFECTIVE_LEADS
    source             VARCHAR     NOT NULL, -- backend | sdk | event | api
    open_id            VARCHAR,
    union_id           VARCHAR,
    occurred_at        TIMESTAMPTZ NOT NULL, -- pay time, lead time or action_time
    value_fen          BIGINT,
    click_id           VARCHAR,              -- NULL: no touch inside the window
    ad_id              VARCHAR,
    touch_at           TIMESTAMPTZ,
    user_action_set_id BIGINT,               -- NULL: the app's data source at send time
    payload            VARCHAR,              -- the action as sent, fixed at creation
    status             VARCHAR     NOT NULL, -- pending | delivered | dead | unattributed
    attempts           INTEGER     NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    deadline           TIMESTAMPTZ,          -- retried until then; a replay moves it
    next_attempt_at    TIMESTAMPTZ,
    claimed_until      TIMESTAMPTZ,
    last_attempt_at    TIMESTAMPTZ,
    delivered_at       TIMESTAMPTZ,
    last_error         VARCHAR,
    last_class         VARCHAR
);

-- Small per-app state: the WeChat data source (user_action_set_id), ...
CREATE TABLE app_state (
    app_id     VARCHAR     NOT NULL,
    key        VARCHAR     NOT NULL,
    value      VARCHAR     NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, key)
);
