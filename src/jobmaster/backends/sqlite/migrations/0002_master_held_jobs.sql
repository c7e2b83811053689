-- Jobs held on the master (SCHEDULED) until a promoter moves them to an agent.
CREATE TABLE {p}held_job (
    id TEXT PRIMARY KEY,
    definition_id TEXT NOT NULL,
    lane TEXT NOT NULL,
    priority INTEGER NOT NULL,
    scheduled_at REAL NOT NULL,
    created_at REAL NOT NULL,
    msg_data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    max_retries INTEGER NOT NULL,
    timeout_ms INTEGER NOT NULL,
    backoff TEXT NOT NULL,
    idempotency_key TEXT,
    schedule_id TEXT,
    trigger_source TEXT NOT NULL,
    promote_token TEXT,
    promote_until REAL,
    promote_takes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX {p}held_job_due ON {p}held_job (scheduled_at);
CREATE UNIQUE INDEX {p}held_job_idempotency ON {p}held_job (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- History retention: finished jobs are purged by age (see runtime/cleaner.py).
CREATE INDEX {p}job_finished ON {p}job (finished_at);
