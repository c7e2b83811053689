-- Agent tables: in-flight jobs and the outbox of their state changes. MySQL DDL is not
-- transactional, so every statement is idempotent (a migration cut short can be rerun).
-- Times are DATETIME(6) in UTC, always computed by the server (UTC_TIMESTAMP(6)).
CREATE TABLE IF NOT EXISTS {p}schema_version (
    role VARCHAR(16) NOT NULL PRIMARY KEY,
    version INT NOT NULL
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS {p}agent_job (
    id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    definition_id VARCHAR(255) NOT NULL,
    lane VARCHAR(255) NOT NULL,
    priority SMALLINT NOT NULL,
    scheduled_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    msg_data LONGTEXT NOT NULL,
    metadata LONGTEXT NOT NULL,
    attempt INT NOT NULL DEFAULT 0,
    max_retries INT NOT NULL,
    timeout_ms INT NOT NULL,
    backoff TEXT NOT NULL,
    idempotency_key VARCHAR(255) NULL,
    schedule_id VARCHAR(255) NULL,
    trigger_source VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL,
    lease_owner VARCHAR(255) NULL,
    lease_token VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NULL,
    lease_expires_at DATETIME(6) NULL,
    started_at DATETIME(6) NULL,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    last_error TEXT NULL,
    version INT NOT NULL DEFAULT 1,
    -- The claim walks this index in order (descending parts need MariaDB >= 10.8, MySQL 8:
    -- older servers sort the ready rows instead).
    KEY {p}agent_job_ready (status, priority DESC, scheduled_at, id),
    KEY {p}agent_job_leases (status, lease_expires_at),
    UNIQUE KEY {p}agent_job_idempotency (idempotency_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {p}agent_outbox (
    seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    job_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
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
    a_number INT NULL,
    a_started_at DATETIME(6) NULL,
    a_finished_at DATETIME(6) NULL,
    a_worker VARCHAR(255) NULL,
    a_outcome VARCHAR(16) NULL,
    a_error TEXT NULL,
    a_traceback LONGTEXT NULL,
    KEY {p}agent_outbox_idempotency (idempotency_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
