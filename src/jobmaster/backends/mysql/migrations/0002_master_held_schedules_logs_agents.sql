-- What the other masters have and this one lacked: jobs held for promotion, recurring schedules
-- with their slots and leader leases, history retention, logs, and the agent connections.
-- Rerunnable like 0001 (MySQL commits each DDL statement on its own): tables are created if
-- absent, and the one index added to an existing table is skipped when it exists already.

-- Jobs held on the master (SCHEDULED) until a promoter moves them to an agent shortly before
-- they are due. promote_token / promote_until: the promoter that holds a job, and until when.
CREATE TABLE IF NOT EXISTS {p}held_job (
    id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    definition_id VARCHAR(255) NOT NULL,
    lane VARCHAR(255) NOT NULL,
    priority SMALLINT NOT NULL,
    scheduled_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    msg_data LONGTEXT NOT NULL,
    metadata LONGTEXT NOT NULL,
    max_retries INT NOT NULL,
    timeout_ms INT NOT NULL,
    backoff TEXT NOT NULL,
    idempotency_key VARCHAR(255) NULL,
    schedule_id VARCHAR(255) NULL,
    trigger_source VARCHAR(32) NOT NULL,
    promote_token VARCHAR(320) NULL,
    promote_until DATETIME(6) NULL,
    promote_takes INT NOT NULL DEFAULT 0,
    KEY {p}held_job_due (scheduled_at, id),
    KEY {p}held_job_created (created_at DESC, id DESC),
    -- Unique: two holds racing with one key cannot both be stored (NULLs do not collide).
    UNIQUE KEY {p}held_job_idempotency (idempotency_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- History retention: finished jobs are purged by age (see runtime/cleaner.py).
CREATE INDEX {p}job_finished ON {p}job (finished_at);

-- Recurring schedules. Ids and texts compare byte-wise (utf8mb4_bin): pages by id follow the
-- code-point order every other store uses.
CREATE TABLE IF NOT EXISTS {p}schedule (
    id VARCHAR(255) NOT NULL PRIMARY KEY,
    kind VARCHAR(16) NOT NULL,
    static_key VARCHAR(1024) NULL,
    profile_id VARCHAR(255) NULL,
    definition_id VARCHAR(255) NOT NULL,
    expression_kind VARCHAR(32) NOT NULL,
    expression_text TEXT NOT NULL,
    expression_tz VARCHAR(255) NOT NULL,
    msg_data LONGTEXT NOT NULL,
    metadata LONGTEXT NOT NULL,
    lane VARCHAR(255) NOT NULL,
    priority SMALLINT NOT NULL,
    max_retries INT NOT NULL,
    timeout_ms INT NOT NULL,
    backoff TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    misfire VARCHAR(16) NOT NULL,
    catch_up_limit INT NOT NULL,
    allow_overlap BOOLEAN NOT NULL,
    start_after DATETIME(6) NULL,
    end_before DATETIME(6) NULL,
    next_run_at DATETIME(6) NULL,
    planned_until DATETIME(6) NULL,
    last_job_id VARCHAR(255) NULL,
    missed_count BIGINT NOT NULL DEFAULT 0,
    skipped_count BIGINT NOT NULL DEFAULT 0,
    generation INT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    last_declared_at DATETIME(6) NULL,
    version INT NOT NULL,
    KEY {p}schedule_status (status, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per occurrence of a schedule: the primary key is what makes a slot run at most once,
-- whatever number of planners race. writer: the call that created the row (insert_slots reads
-- it back to tell which slots it created).
CREATE TABLE IF NOT EXISTS {p}schedule_slot (
    schedule_id VARCHAR(255) NOT NULL,
    slot_at DATETIME(6) NOT NULL,
    job_id VARCHAR(255) NULL,
    outcome VARCHAR(16) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    writer CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (schedule_id, slot_at),
    KEY {p}schedule_slot_at (slot_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Leader leases (the planner's): one row per lease name.
CREATE TABLE IF NOT EXISTS {p}leader (
    name VARCHAR(255) NOT NULL PRIMARY KEY,
    owner VARCHAR(255) NOT NULL,
    token CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    expires_at DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Logs of every JobMaster process (shipped in batches by runtime/logship.py).
CREATE TABLE IF NOT EXISTS {p}log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at DATETIME(6) NOT NULL,
    level SMALLINT NOT NULL,
    logger VARCHAR(1024) NOT NULL,
    message MEDIUMTEXT NOT NULL,
    host VARCHAR(255) NOT NULL,
    pid INT NOT NULL,
    KEY {p}log_at (at DESC, id DESC)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Agent connections of the cluster, recorded by every process that declares them.
CREATE TABLE IF NOT EXISTS {p}agent (
    name VARCHAR(255) NOT NULL PRIMARY KEY,
    kind VARCHAR(32) NOT NULL,
    location VARCHAR(1024) NOT NULL,
    first_seen DATETIME(6) NOT NULL,
    last_seen DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
