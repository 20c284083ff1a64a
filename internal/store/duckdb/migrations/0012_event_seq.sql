-- The roll-ups are derived from the events after they are committed, not
-- in the ingest transaction (internal/store/duckdb/rollups.go): every flush
-- stamps its events with the next flush number (seq), and rollup_state
-- records the highest flush number already added to the roll-ups. Events
-- stored before this migration have no seq: they are in the roll-ups.
ALTER TABLE events ADD COLUMN seq BIGINT;
ALTER TABLE rollup_state ADD COLUMN rolled_seq BIGINT DEFAULT 0;

-- The write path appends the new events and contexts straight into their
-- tables (it finds the stored ones with one query over the flush's keys):
-- no more staging.
DROP TABLE staging_events;
DROP TABLE staging_contexts;
