-- Master tables: job history with every attempt, and the worker topology. Idempotent DDL
-- (MySQL commits each DDL statement on its own).
CREATE TABLE IF NOT EXISTS {p}schema_version (
    role VARCHAR(16) NOT NULL PRIMARY KEY,
    version INT NOT NULL
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS {p}job (
    id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    version INT NOT NULL,
    status VARCHAR(16) NOT NULL,
    definition_id VARCHAR(255) NOT NULL,
    lane VARCHAR(255) NOT NULL,
    priority SMALLINT NOT NULL,
    scheduled_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    msg_data LONGTEXT NOT NULL,
    metadata LONGTEXT NOT NULL,
    attempt_count INT NOT NULL,
    max_retries INT NOT NULL,
    timeout_ms INT NOT NULL,
    idempotency_key VARCHAR(255) NULL,
    schedule_id VARCHAR(255) NULL,
    trigger_source VARCHAR(32) NOT NULL,
    last_error TEXT NULL,
    finished_at DATETIME(6) NULL,
    agent VARCHAR(255) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY {p}job_created (created_at DESC, id DESC),
    KEY {p}job_status (status, created_at DESC, id DESC),
    KEY {p}job_definition (definition_id, created_at DESC, id DESC),
    KEY {p}job_lane (lane, created_at DESC, id DESC),
    KEY {p}job_schedule (schedule_id, created_at DESC),
    KEY {p}job_idempotency (idempotency_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {p}attempt (
    job_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    number INT NOT NULL,
    version INT NOT NULL,
    started_at DATETIME(6) NOT NULL,
    finished_at DATETIME(6) NULL,
    worker_id VARCHAR(255) NULL,
    outcome VARCHAR(16) NOT NULL,
    error TEXT NULL,
    traceback LONGTEXT NULL,
    PRIMARY KEY (job_id, number)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {p}worker (
    id VARCHAR(255) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    host VARCHAR(255) NOT NULL,
    pid INT NOT NULL,
    agent VARCHAR(255) NOT NULL,
    lanes TEXT NOT NULL,
    concurrency INT NOT NULL,
    started_at DATETIME(6) NOT NULL,
    last_heartbeat DATETIME(6) NOT NULL,
    status VARCHAR(16) NOT NULL,
    in_flight INT NOT NULL DEFAULT 0
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
