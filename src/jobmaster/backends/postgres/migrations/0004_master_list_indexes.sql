-- Job lists filtered by definition and lane (the API and dashboard): without this index and
-- the extended statistics, a filter matching almost nothing walks the newest-first index
-- through the whole history (measured: 380 ms p95 with 1,000,000 jobs; 42 ms with them).
CREATE INDEX {p}job_definition_lane ON {p}job (definition_id, lane, created_at DESC, id DESC);
CREATE STATISTICS {p}job_filters (mcv, dependencies) ON status, definition_id, lane FROM {p}job;
