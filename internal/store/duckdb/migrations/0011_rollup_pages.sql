-- Per app, hour, page and user: the SDK's page views (browse_wxapp_page),
-- for the pages analysis. uid is hash(user_key), NULL without a user.
-- Partial sums like the other roll-ups. Filled on open: rollup_state names
-- an older version.
CREATE TABLE rollup_pages (
    app_id VARCHAR     NOT NULL,
    hour   TIMESTAMPTZ NOT NULL,
    page   VARCHAR     NOT NULL,
    uid    UBIGINT,
    views  BIGINT      NOT NULL
);
