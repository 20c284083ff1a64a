-- rollup_step_hours with the values a funnel is split by (?by=: guide,
-- live room, ad, shop, channel), so that a split funnel's first step
-- reads its reaches from it too. A user's hour then comes in a row per
-- set of those values: at 10 M events 996 k rows against 989 k. Filled
-- again from rollup_step_events when a node opens the store (roll-up
-- version 10, upgradeRollups).
ALTER TABLE rollup_step_hours
    ADD COLUMN guide_id text,
    ADD COLUMN room_id  text,
    ADD COLUMN ad_id    text,
    ADD COLUMN shop_id  text,
    ADD COLUMN chan_id  text;
