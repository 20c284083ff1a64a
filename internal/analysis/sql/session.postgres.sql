-- Run before every analysis on PostgreSQL, in the analysis's own read-only
-- transaction. The analyses aggregate hundreds of thousands of roll-up
-- rows through chains of CTEs whose row counts the planner cannot
-- estimate: guessing one row, it picks nested loops that run for minutes
-- where hash joins take seconds (the funnel went from over ten minutes to
-- 2.4 s at 10 M events). Nothing an analysis joins needs an index probe.
SET LOCAL enable_nestloop = off;
-- Guessing too many rows instead, it sorts both sides of a join to merge
-- them where a hash join needs no sort: the funnel's joins of a step's
-- events to the reaches before took ~1.0 s merged and ~0.75 s hashed at
-- 10 M events. All 18 analyses timed with it: none slower beyond the
-- spread (BENCHMARKS.md).
SET LOCAL enable_mergejoin = off;
-- Parallel workers only for a plan that saves much: on two cores their
-- launch cost more than it saved on the analyses' smaller scans (guides,
-- live and overview took half as long without them; events lost a fifth,
-- still under 300 ms). All 18 timed with and without it, in turn
-- (BENCHMARKS.md).
SET LOCAL parallel_setup_cost = 10000;
