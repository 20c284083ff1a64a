-- The daily pull of WeChat's own analysis data (issue 12): one row per
-- app, family of endpoints and day, so a complete day is never fetched
-- again and the dashboard shows pending and failed days with their error.
CREATE TABLE wx_pull_days (
    app_id     VARCHAR     NOT NULL,
    family     VARCHAR     NOT NULL,
    day        DATE        NOT NULL,
    status     VARCHAR     NOT NULL,
    attempts   BIGINT      NOT NULL,
    last_error VARCHAR     NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, family, day)
);
