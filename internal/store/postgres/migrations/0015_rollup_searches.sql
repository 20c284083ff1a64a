-- search's keywords without numbering every search and SKU click of the
-- range at each question: PostgreSQL sorted the range's 330 k of them by
-- session and time for a window, 0.6 s at 10 M events. Derived by RollUp
-- (searchesSQL in rollups.go) and, for a store rolled up before it,
-- filled from rollup_step_events when a node opens it (roll-up version 6,
-- upgradeRollups).
--
-- rollup_searches: one row per search, with its first SKU click
-- (trigger_sku_component) in the same session before that session's next
-- search, the rule of search.sql (a search and a click of the same
-- instant: the search first). Every row of a session is computed again
-- from all of the session's searches and clicks whenever one of them is
-- rolled up, since a late search can take a click from the one before.
-- A question over [from, to) counts the searches of the range, and as
-- followed by a click those whose first click is before to.
CREATE TABLE rollup_searches (
    app_id      text        NOT NULL,
    sid         bigint,
    ts          timestamptz NOT NULL,
    uid         bigint,
    keyword     text,
    first_click timestamptz
);
CREATE INDEX rollup_searches_ts ON rollup_searches (app_id, ts);
CREATE INDEX rollup_searches_sid ON rollup_searches (app_id, sid);

-- The searches and clicks of a session, for the roll-up to read them all.
CREATE INDEX rollup_step_events_search_sid ON rollup_step_events (app_id, sid)
    WHERE type IN ('search', 'trigger_sku_component');
