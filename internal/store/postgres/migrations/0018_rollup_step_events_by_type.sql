-- rollup_step_events split by type, one partition per step type
-- (event.StepTypes; TestStepEventPartitions checks the list), so that a
-- funnel step or a search question reads its own type's rows and not the
-- pages of every other step type in between. At 10 M events the funnel's
-- default steps read 456 k of the table's 1.6 M rows, which lay
-- interleaved on every one of its pages (an index on the type did not
-- help: BENCHMARKS.md). A type outside the list lands in the default
-- partition.
--
-- The rows are copied over once (at 10 M events ~4 s with the indexes and
-- the analysis, timed apart on a copy: BENCHMARKS.md) and the new
-- partitions analysed, so that the planner need not wait for autovacuum.
ALTER TABLE rollup_step_events RENAME TO rollup_step_events_unsplit;

-- The columns of the table it replaces (0002), in their order.
CREATE TABLE rollup_step_events (LIKE rollup_step_events_unsplit) PARTITION BY LIST (type);

CREATE TABLE rollup_step_events_app_launch PARTITION OF rollup_step_events FOR VALUES IN ('app_launch');
CREATE TABLE rollup_step_events_search PARTITION OF rollup_step_events FOR VALUES IN ('search');
CREATE TABLE rollup_step_events_trigger_sku_component PARTITION OF rollup_step_events FOR VALUES IN ('trigger_sku_component');
CREATE TABLE rollup_step_events_browse_sku_page PARTITION OF rollup_step_events FOR VALUES IN ('browse_sku_page');
CREATE TABLE rollup_step_events_add_to_cart PARTITION OF rollup_step_events FOR VALUES IN ('add_to_cart');
CREATE TABLE rollup_step_events_custom_order PARTITION OF rollup_step_events FOR VALUES IN ('custom_order');
CREATE TABLE rollup_step_events_page_share_app_message PARTITION OF rollup_step_events FOR VALUES IN ('page_share_app_message');
CREATE TABLE rollup_step_events_other PARTITION OF rollup_step_events DEFAULT;

INSERT INTO rollup_step_events SELECT * FROM rollup_step_events_unsplit ORDER BY ts;
DROP TABLE rollup_step_events_unsplit;

CREATE INDEX rollup_step_events_ts ON rollup_step_events (app_id, ts);
-- 0015's index, as it was.
CREATE INDEX rollup_step_events_search_sid ON rollup_step_events (app_id, sid)
    WHERE type IN ('search', 'trigger_sku_component');

ANALYZE rollup_step_events;
