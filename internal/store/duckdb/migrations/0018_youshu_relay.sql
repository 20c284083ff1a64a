-- The relay outbox (issue 13): accepted SDK uploads and data-api calls to
-- forward to the merchant's real Youshu, added in the transaction that
-- stores them. seq is the order they were accepted in, which the claim
-- keeps per order id (ref_id).
CREATE SEQUENCE youshu_relay_seq;
CREATE TABLE youshu_relay (
    seq             BIGINT      NOT NULL PRIMARY KEY DEFAULT nextval('youshu_relay_seq'),
    app_id          VARCHAR     NOT NULL,
    kind            VARCHAR     NOT NULL,
    ref_id          VARCHAR     NOT NULL DEFAULT '',
    body            VARCHAR     NOT NULL,
    encrypted       BOOLEAN     NOT NULL DEFAULT false,
    encrypt_key     VARCHAR     NOT NULL DEFAULT '',
    received_at     TIMESTAMPTZ NOT NULL,
    status          VARCHAR     NOT NULL,
    attempts        BIGINT      NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_by      VARCHAR,
    claimed_until   TIMESTAMPTZ,
    last_attempt_at TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    last_error      VARCHAR
);
