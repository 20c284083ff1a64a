-- The relay outbox (issue 13): accepted SDK uploads and data-api calls to
-- forward to the merchant's real Youshu, added in the transaction that
-- stores them. seq is the order they were accepted in, which the claim
-- keeps per order id (ref_id).
CREATE TABLE youshu_relay (
    seq             bigserial   NOT NULL PRIMARY KEY,
    app_id          text        NOT NULL,
    kind            text        NOT NULL,
    ref_id          text        NOT NULL DEFAULT '',
    body            text        NOT NULL,
    encrypted       boolean     NOT NULL DEFAULT false,
    encrypt_key     text        NOT NULL DEFAULT '',
    received_at     timestamptz NOT NULL,
    status          text        NOT NULL,
    attempts        bigint      NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    claimed_by      text,
    claimed_until   timestamptz,
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    last_error      text
);
-- Claims read an app's pending rows in seq order; the order check reads
-- the pending rows of one order id.
CREATE INDEX youshu_relay_pending ON youshu_relay (app_id, seq) WHERE status = 'pending';
CREATE INDEX youshu_relay_ref ON youshu_relay (app_id, ref_id, seq) WHERE status = 'pending' AND ref_id <> '';
