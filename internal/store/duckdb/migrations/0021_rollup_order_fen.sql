-- The order amount of the SDK's custom_order events, so that the
-- reconciliation reads the SDK's orders from this narrow roll-up instead
-- of scanning every event of the range. Roll-up version 7 rebuilds the
-- roll-ups on open, which fills it.
ALTER TABLE rollup_order_events ADD COLUMN order_fen BIGINT;
