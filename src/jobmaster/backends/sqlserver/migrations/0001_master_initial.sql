-- Master tables: job history with every attempt, and the worker topology (T-SQL).
IF OBJECT_ID(N'{p}schema_version', N'U') IS NULL
CREATE TABLE {p}schema_version (
    role NVARCHAR(16) NOT NULL PRIMARY KEY,
    version INT NOT NULL
);

CREATE TABLE {p}job (
    id CHAR(36) NOT NULL CONSTRAINT {p}job_pk PRIMARY KEY,
    version INT NOT NULL,
    status NVARCHAR(16) NOT NULL,
    definition_id NVARCHAR(255) NOT NULL,
    lane NVARCHAR(255) NOT NULL,
    priority SMALLINT NOT NULL,
    scheduled_at DATETIME2(7) NOT NULL,
    created_at DATETIME2(7) NOT NULL,
    msg_data NVARCHAR(MAX) NOT NULL,
    metadata NVARCHAR(MAX) NOT NULL,
    attempt_count INT NOT NULL,
    max_retries INT NOT NULL,
    timeout_ms INT NOT NULL,
    idempotency_key NVARCHAR(255) NULL,
    schedule_id NVARCHAR(255) NULL,
    trigger_source NVARCHAR(32) NOT NULL,
    last_error NVARCHAR(MAX) NULL,
    finished_at DATETIME2(7) NULL,
    agent NVARCHAR(255) NOT NULL,
    updated_at DATETIME2(7) NOT NULL DEFAULT SYSUTCDATETIME()
);

CREATE INDEX {p}job_created ON {p}job (created_at DESC, id DESC);

CREATE INDEX {p}job_status ON {p}job (status, created_at DESC, id DESC);

CREATE INDEX {p}job_definition ON {p}job (definition_id, created_at DESC, id DESC);

CREATE INDEX {p}job_lane ON {p}job (lane, created_at DESC, id DESC);

CREATE INDEX {p}job_schedule ON {p}job (schedule_id, created_at DESC)
    WHERE schedule_id IS NOT NULL;

CREATE INDEX {p}job_idempotency ON {p}job (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE {p}attempt (
    job_id CHAR(36) NOT NULL,
    number INT NOT NULL,
    version INT NOT NULL,
    started_at DATETIME2(7) NOT NULL,
    finished_at DATETIME2(7) NULL,
    worker_id NVARCHAR(255) NULL,
    outcome NVARCHAR(16) NOT NULL,
    error NVARCHAR(MAX) NULL,
    traceback NVARCHAR(MAX) NULL,
    CONSTRAINT {p}attempt_pk PRIMARY KEY (job_id, number)
);

CREATE TABLE {p}worker (
    id NVARCHAR(255) NOT NULL CONSTRAINT {p}worker_pk PRIMARY KEY,
    name NVARCHAR(255) NOT NULL,
    host NVARCHAR(255) NOT NULL,
    pid INT NOT NULL,
    agent NVARCHAR(255) NOT NULL,
    lanes NVARCHAR(MAX) NOT NULL,
    concurrency INT NOT NULL,
    started_at DATETIME2(7) NOT NULL,
    last_heartbeat DATETIME2(7) NOT NULL,
    status NVARCHAR(16) NOT NULL,
    in_flight INT NOT NULL DEFAULT 0
);
