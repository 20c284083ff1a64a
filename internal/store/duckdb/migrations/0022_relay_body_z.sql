-- Relay bodies compressed (deflate) in body_z, body left empty: the
-- bodies' bytes in the write-ahead log of every group commit were what
-- the relay still cost the SDK's acknowledgements (BENCHMARKS.md). Rows
-- added before keep their body as it was. The rows are numbered by the
-- store now, so seq loses its sequence default: the table is made anew
-- rather than altered, because DuckDB (1.5) cannot replay from its WAL
-- an ALTER TABLE of a table whose default calls nextval, and a kill
-- before the next checkpoint would leave a database that does not open.
CREATE TABLE youshu_relay_next (
    seq             BIGINT      NOT NULL PRIMARY KEY,
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
    last_error      VARCHAR,
    body_z          BLOB
);
INSERT INTO youshu_relay_next SELECT *, NULL FROM youshu_relay;
DROP TABLE youshu_relay;
ALTER TABLE youshu_relay_next RENAME TO youshu_relay;
DROP SEQUENCE youshu_relay_seq;
