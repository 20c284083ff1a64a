-- The WeChat access token of each WeChat appid, shared by every node:
-- one elected refresher per app fetches it (a session advisory lock, see
-- lead.go), every node reads it from here.
CREATE TABLE wx_tokens (
    wx_appid   text        NOT NULL PRIMARY KEY,
    value      text        NOT NULL,
    fetched_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    refresh_at timestamptz NOT NULL
);
