-- Master tables: job history (latest snapshot per job), every attempt, worker topology.
CREATE TABLE {p}job (
    id TEXT PRIMARY KEY,
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
    agent TEXT NOT NULL
);
CREATE INDEX {p}job_created ON {p}job (created_at, id);
CREATE INDEX {p}job_status ON {p}job (status, created_at, id);
CREATE INDEX {p}job_definition ON {p}job (definition_id, created_at, id);
CREATE INDEX {p}job_lane ON {p}job (lane, created_at, id);
CREATE INDEX {p}job_idempotency ON {p}job (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX {p}job_schedule ON {p}job (schedule_id, created_at, id) WHERE schedule_id IS NOT NULL;
CREATE TABLE {p}attempt (
    job_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    version INTEGER NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    worker_id TEXT,
    outcome TEXT NOT NULL,
    error TEXT,
    traceback TEXT,
    PRIMARY KEY (job_id, number)
) WITHOUT ROWID;
CREATE TABLE {p}worker (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    agent TEXT NOT NULL,
    lanes TEXT NOT NULL,
    concurrency INTEGER NOT NULL,
    started_at REAL NOT NULL,
    last_heartbeat REAL NOT NULL,
    status TEXT NOT NULL,
    in_flight INTEGER NOT NULL DEFAULT 0
);
