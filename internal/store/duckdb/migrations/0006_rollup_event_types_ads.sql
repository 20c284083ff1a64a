-- Roll-ups for the events and ads analyses (internal/store/duckdb/rollups.go
-- fills them from the committed events (0012); a store migrated before
-- this is rebuilt on open, rollup_state naming an older version).

-- The ad a behaviour event came by: its ad id ('' for a click id without
-- weixinadinfo) when it carried a click id, else NULL. Another channel
-- value of rollup_sessions, so the ads analysis reads the roll-up instead
-- of every event. (Added last: the roll-up's INSERT lists it last.)
ALTER TABLE rollup_sessions ADD COLUMN ad_id VARCHAR;

-- Per app, hour, event type and user: how many events of the type, every
-- kind (behaviour, sdk, unknown). uid is hash(user_key), NULL for events
-- without a user. Partial sums like the other roll-ups.
CREATE TABLE rollup_event_types (
    app_id VARCHAR     NOT NULL,
    hour   TIMESTAMPTZ NOT NULL,
    type   VARCHAR     NOT NULL,
    kind   VARCHAR     NOT NULL,
    uid    UBIGINT,
    events BIGINT      NOT NULL
);
