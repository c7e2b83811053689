-- Retention walks the created_at index instead (a job finishes after it is created, so every
-- job finished before the cutoff was created before it): one index fewer on every history
-- insert, the hottest write of the master (as PostgreSQL's migration 0007).
DROP INDEX {p}job_finished ON {p}job;
