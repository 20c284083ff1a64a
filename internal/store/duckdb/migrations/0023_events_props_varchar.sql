-- The events' props become VARCHAR, holding the same compact JSON text:
-- the driver's appender marshals every value of a JSON column through
-- encoding/json, which re-validated and re-compacted props the parser had
-- already made compact, a fifth of the intake loader's writing time
-- (BENCHMARKS.md). DuckDB's JSON functions and operators read VARCHAR as
-- JSON, so queries such as (props->>'$.keyword') are unchanged.
ALTER TABLE events ALTER COLUMN props TYPE VARCHAR;
