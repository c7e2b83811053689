-- Claims of one lane (a worker's default) walk this index in claim order. With the ready index
-- alone, such a claim read and skipped every queued job of the other lanes ahead of its own: a
-- deep queue in one lane slowed every claim of the others.
CREATE INDEX {p}agent_job_ready_lane ON {p}agent_job (status, lane, priority DESC, scheduled_at, id);

-- The rescuer finds expired leases among the PROCESSING entries of the ready index (the jobs in
-- flight: a few per worker slot). This index cost an entry move on every claim, completion and
-- lease renewal.
DROP INDEX {p}agent_job_leases ON {p}agent_job;
