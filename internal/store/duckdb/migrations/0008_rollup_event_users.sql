-- Per app, hour and user: which of the known event types (event.KnownTypes,
-- bit i for KnownTypes[i]) the user's events had, as a bitmask; rows are
-- partial, readers bit_or them. The events analysis counts a day's users
-- of each type from it: a row per user and hour instead of one per user,
-- hour and type (rollup_event_types now keeps users only for the other,
-- rare types). Filled on open: rollup_state names an older version.
CREATE TABLE rollup_event_users (
    app_id VARCHAR     NOT NULL,
    hour   TIMESTAMPTZ NOT NULL,
    uid    UBIGINT     NOT NULL,
    types  UBIGINT     NOT NULL
);
