-- Relay bodies compressed (deflate) in body_z, body left empty: the
-- bodies' bytes in the write-ahead log of every group commit were what
-- the relay still cost the SDK's acknowledgements (BENCHMARKS.md). Rows
-- added before keep their body as it was.
ALTER TABLE youshu_relay ADD COLUMN body_z BLOB;
