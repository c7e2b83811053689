-- What the master keeps besides the history (T-SQL): jobs held for later, recurring schedules
-- with their slots and leader leases, process logs and the agent registry. Times are
-- DATETIME2(7) in UTC, computed by the server (SYSUTCDATETIME()).

-- Jobs held on the master (SCHEDULED) until a promoter moves them to an agent shortly before
-- they are due. A promoter takes a job under promote_token until promote_until.
CREATE TABLE {p}held_job (
    id CHAR(36) NOT NULL CONSTRAINT {p}held_job_pk PRIMARY KEY,
    definition_id NVARCHAR(255) NOT NULL,
    lane NVARCHAR(255) NOT NULL,
    priority SMALLINT NOT NULL,
    scheduled_at DATETIME2(7) NOT NULL,
    created_at DATETIME2(7) NOT NULL,
    msg_data NVARCHAR(MAX) NOT NULL,
    metadata NVARCHAR(MAX) NOT NULL,
    max_retries INT NOT NULL,
    timeout_ms INT NOT NULL,
    backoff NVARCHAR(MAX) NOT NULL,
    idempotency_key NVARCHAR(255) NULL,
    schedule_id NVARCHAR(255) NULL,
    trigger_source NVARCHAR(32) NOT NULL,
    promote_token NVARCHAR(450) NULL,
    promote_until DATETIME2(7) NULL,
    promote_takes INT NOT NULL DEFAULT 0
);

-- Promoters walk this index: the oldest due time first.
CREATE INDEX {p}held_job_due ON {p}held_job (scheduled_at, id);

CREATE INDEX {p}held_job_created ON {p}held_job (created_at DESC, id DESC);

CREATE UNIQUE INDEX {p}held_job_idempotency ON {p}held_job (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- History retention: finished jobs are purged by age (see runtime/cleaner.py).
CREATE INDEX {p}job_finished ON {p}job (finished_at);

-- Recurring schedules.
CREATE TABLE {p}schedule (
    id NVARCHAR(255) NOT NULL CONSTRAINT {p}schedule_pk PRIMARY KEY,
    kind NVARCHAR(16) NOT NULL,
    static_key NVARCHAR(900) NULL,
    profile_id NVARCHAR(255) NULL,
    definition_id NVARCHAR(255) NOT NULL,
    expression_kind NVARCHAR(32) NOT NULL,
    expression_text NVARCHAR(MAX) NOT NULL,
    expression_tz NVARCHAR(64) NOT NULL,
    msg_data NVARCHAR(MAX) NOT NULL,
    metadata NVARCHAR(MAX) NOT NULL,
    lane NVARCHAR(255) NOT NULL,
    priority SMALLINT NOT NULL,
    max_retries INT NOT NULL,
    timeout_ms INT NOT NULL,
    backoff NVARCHAR(MAX) NOT NULL,
    status NVARCHAR(16) NOT NULL,
    misfire NVARCHAR(16) NOT NULL,
    catch_up_limit INT NOT NULL,
    allow_overlap BIT NOT NULL,
    start_after DATETIME2(7) NULL,
    end_before DATETIME2(7) NULL,
    next_run_at DATETIME2(7) NULL,
    planned_until DATETIME2(7) NULL,
    last_job_id NVARCHAR(255) NULL,
    missed_count BIGINT NOT NULL DEFAULT 0,
    skipped_count BIGINT NOT NULL DEFAULT 0,
    generation INT NOT NULL DEFAULT 0,
    created_at DATETIME2(7) NOT NULL,
    updated_at DATETIME2(7) NOT NULL,
    last_declared_at DATETIME2(7) NULL,
    version INT NOT NULL
);

CREATE INDEX {p}schedule_status ON {p}schedule (status, id);

-- One row per occurrence of a schedule: the primary key is what makes a slot run at most once,
-- whatever number of planners race.
CREATE TABLE {p}schedule_slot (
    schedule_id NVARCHAR(255) NOT NULL,
    slot_at DATETIME2(7) NOT NULL,
    job_id NVARCHAR(255) NULL,
    outcome NVARCHAR(16) NOT NULL,
    created_at DATETIME2(7) NOT NULL DEFAULT SYSUTCDATETIME(),
    CONSTRAINT {p}schedule_slot_pk PRIMARY KEY (schedule_id, slot_at)
);

CREATE INDEX {p}schedule_slot_at ON {p}schedule_slot (slot_at);

-- Leader leases (the planner's): one row per lease name.
CREATE TABLE {p}leader (
    name NVARCHAR(255) NOT NULL CONSTRAINT {p}leader_pk PRIMARY KEY,
    owner NVARCHAR(255) NOT NULL,
    token VARCHAR(64) NOT NULL,
    expires_at DATETIME2(7) NOT NULL
);

-- Logs of every JobMaster process (shipped in batches by runtime/logship.py).
CREATE TABLE {p}log (
    id BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT {p}log_pk PRIMARY KEY,
    at DATETIME2(7) NOT NULL,
    level SMALLINT NOT NULL,
    logger NVARCHAR(1000) NOT NULL,
    message NVARCHAR(MAX) NOT NULL,
    host NVARCHAR(255) NOT NULL,
    pid INT NOT NULL
);

CREATE INDEX {p}log_at ON {p}log (at DESC, id DESC);

-- Agent connections of the cluster, recorded by every process that declares them.
CREATE TABLE {p}agent (
    name NVARCHAR(255) NOT NULL CONSTRAINT {p}agent_pk PRIMARY KEY,
    kind NVARCHAR(32) NOT NULL,
    location NVARCHAR(1000) NOT NULL,
    first_seen DATETIME2(7) NOT NULL DEFAULT SYSUTCDATETIME(),
    last_seen DATETIME2(7) NOT NULL DEFAULT SYSUTCDATETIME()
);
