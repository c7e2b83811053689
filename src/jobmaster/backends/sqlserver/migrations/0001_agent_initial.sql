-- Agent tables: in-flight jobs and the outbox of their state changes (T-SQL, SQL Server 2017+).
-- Times are DATETIME2(7) in UTC, computed by the server (SYSUTCDATETIME()).
IF OBJECT_ID(N'{p}schema_version', N'U') IS NULL
CREATE TABLE {p}schema_version (
    role NVARCHAR(16) NOT NULL PRIMARY KEY,
    version INT NOT NULL
);

CREATE TABLE {p}agent_job (
    id CHAR(36) NOT NULL CONSTRAINT {p}agent_job_pk PRIMARY KEY,
    definition_id NVARCHAR(255) NOT NULL,
    lane NVARCHAR(255) NOT NULL,
    priority SMALLINT NOT NULL,
    scheduled_at DATETIME2(7) NOT NULL,
    created_at DATETIME2(7) NOT NULL,
    msg_data NVARCHAR(MAX) NOT NULL,
    metadata NVARCHAR(MAX) NOT NULL,
    attempt INT NOT NULL DEFAULT 0,
    max_retries INT NOT NULL,
    timeout_ms INT NOT NULL,
    backoff NVARCHAR(MAX) NOT NULL,
    idempotency_key NVARCHAR(255) NULL,
    schedule_id NVARCHAR(255) NULL,
    trigger_source NVARCHAR(32) NOT NULL,
    status NVARCHAR(16) NOT NULL,
    lease_owner NVARCHAR(255) NULL,
    lease_token VARCHAR(36) NULL,
    lease_expires_at DATETIME2(7) NULL,
    started_at DATETIME2(7) NULL,
    cancel_requested BIT NOT NULL DEFAULT 0,
    last_error NVARCHAR(MAX) NULL,
    version INT NOT NULL DEFAULT 1
);

-- The claim walks this index: ready jobs, highest priority first, then the oldest due time.
CREATE INDEX {p}agent_job_ready ON {p}agent_job (status, priority DESC, scheduled_at, id)
    INCLUDE (definition_id, lane);

CREATE INDEX {p}agent_job_leases ON {p}agent_job (status, lease_expires_at);

CREATE UNIQUE INDEX {p}agent_job_idempotency ON {p}agent_job (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE {p}agent_outbox (
    seq BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT {p}agent_outbox_pk PRIMARY KEY,
    job_id CHAR(36) NOT NULL,
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
    a_number INT NULL,
    a_started_at DATETIME2(7) NULL,
    a_finished_at DATETIME2(7) NULL,
    a_worker NVARCHAR(255) NULL,
    a_outcome NVARCHAR(16) NULL,
    a_error NVARCHAR(MAX) NULL,
    a_traceback NVARCHAR(MAX) NULL
);

CREATE INDEX {p}agent_outbox_idempotency ON {p}agent_outbox (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
