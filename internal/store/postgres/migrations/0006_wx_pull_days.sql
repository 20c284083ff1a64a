-- The daily pull of WeChat's own analysis data (issue 12): one row per
-- app, family of endpoints and day, so a complete day is never fetched
-- again and the dashboard shows pending and failed days with their error.
CREATE TABLE wx_pull_days (
    app_id     text        NOT NULL,
    family     text        NOT NULL,
    day        date        NOT NULL,
    status     text        NOT NULL,
    attempts   bigint      NOT NULL,
    last_error text        NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, family, day)
);
