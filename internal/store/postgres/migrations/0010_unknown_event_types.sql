-- The event types of unknown kind each app has stored, with when each was
-- first received: what the collector's cap on new types (collect.TypeGate)
-- reads once a day per node. Read from events it would scan every
-- partition, with the app's uploads of unknown types waiting on it; this
-- table has one row per type, written by the flush that first stores it.
CREATE TABLE unknown_event_types (
    app_id         text        NOT NULL,
    type           text        NOT NULL,
    first_received timestamptz NOT NULL,
    PRIMARY KEY (app_id, type)
);
INSERT INTO unknown_event_types (app_id, type, first_received)
    SELECT app_id, type, min(received_at) FROM events WHERE kind = 'unknown' GROUP BY app_id, type;
