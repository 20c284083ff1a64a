-- A funnel's first step without grouping its events: PostgreSQL's
-- funnel.sql keeps a step's reaches as (user, bucket, earliest, latest)
-- rows, and grouping the 295 k events of the default first step
-- (browse_sku_page) into them took ~190 ms of the funnel's time at 10 M
-- events. Derived by RollUp (rollups.go) and, for a store rolled up
-- before it, filled from rollup_step_events when a node opens it (roll-up
-- version 10 since migration 0020, upgradeRollups).
--
-- rollup_step_hours: per step type (event.StepTypes), user and hour, the
-- earliest and latest event of a roll-up slice; the hours of one user may
-- come in several rows, one per slice, and the funnel needs no more: a
-- step's reach before an event exists exactly when one of those rows has
-- one. add_to_cart leaves out remove_from_cart, as a funnel step without
-- a qualifier does. Events without a user are not kept: no funnel
-- follows them.
CREATE TABLE rollup_step_hours (
    app_id text        NOT NULL,
    type   text        NOT NULL,
    hour   timestamptz NOT NULL,
    uid    bigint      NOT NULL,
    first  timestamptz NOT NULL,
    last   timestamptz NOT NULL
);
-- A step's rows of a range, read from the index alone.
CREATE INDEX rollup_step_hours_hour ON rollup_step_hours (app_id, type, hour) INCLUDE (uid, first, last);
