-- The outbox lease names its holder, so that only the holder of a claim
-- settles it (fencing; the same contract as the shared store, where many
-- nodes claim), and the data-api's used nonces are kept in the store for
-- the whole timestamp window, so a captured call cannot be replayed after
-- a restart.
ALTER TABLE ad_conversions ADD COLUMN claimed_by VARCHAR;

CREATE TABLE data_api_nonces (
    app_id     VARCHAR     NOT NULL,
    nonce      VARCHAR     NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, nonce)
);
