-- The WeChat access token of each WeChat appid, kept in the store so that
-- GET /wx/token and `shuyuan token` answer the token the deliveries use
-- (and, on the shared store, every node's), fetched by one refresher.
CREATE TABLE wx_tokens (
    wx_appid   VARCHAR     NOT NULL PRIMARY KEY,
    value      VARCHAR     NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    refresh_at TIMESTAMPTZ NOT NULL
);
