-- Agent tables: in-flight jobs (queued or processing) and the outbox of their state changes.
CREATE TABLE {p}agent_job (
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
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    lease_owner TEXT,
    lease_token TEXT,
    lease_expires_at REAL,
    started_at REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE UNIQUE INDEX {p}agent_job_idempotency ON {p}agent_job (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX {p}agent_job_claim ON {p}agent_job (status, priority DESC, scheduled_at, id);
CREATE INDEX {p}agent_job_lease ON {p}agent_job (status, lease_expires_at);
CREATE TABLE {p}agent_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    definition_id TEXT NOT NULL,
    lane TEXT NOT NULL,
    priority INTEGER NOT NULL,
    scheduled_at REAL NOT NULL,
    created_at REAL NOT NULL,
    msg_data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    attempt_count INTEGER NOT NULL,
    max_retries INTEGER NOT NULL,
    timeout_ms INTEGER NOT NULL,
    idempotency_key TEXT,
    schedule_id TEXT,
    trigger_source TEXT NOT NULL,
    last_error TEXT,
    finished_at REAL,
    agent TEXT NOT NULL,
    a_number INTEGER,
    a_started_at REAL,
    a_finished_at REAL,
    a_worker_id TEXT,
    a_outcome TEXT,
    a_error TEXT,
    a_traceback TEXT
);
CREATE INDEX {p}agent_outbox_idempotency ON {p}agent_outbox (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
