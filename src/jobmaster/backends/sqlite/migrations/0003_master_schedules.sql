-- Recurring schedules, their slots (one row per occurrence: the unique key that makes a slot
-- run at most once, whatever number of planners race) and leader leases.
-- slot_at is INTEGER microseconds since the epoch so that equal instants compare exactly.
CREATE TABLE {p}schedule (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    static_key TEXT,
    profile_id TEXT,
    definition_id TEXT NOT NULL,
    expression_kind TEXT NOT NULL,
    expression_text TEXT NOT NULL,
    expression_tz TEXT NOT NULL,
    msg_data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    lane TEXT NOT NULL,
    priority INTEGER NOT NULL,
    max_retries INTEGER NOT NULL,
    timeout_ms INTEGER NOT NULL,
    backoff TEXT NOT NULL,
    status TEXT NOT NULL,
    misfire TEXT NOT NULL,
    catch_up_limit INTEGER NOT NULL,
    allow_overlap INTEGER NOT NULL,
    start_after REAL,
    end_before REAL,
    next_run_at REAL,
    planned_until REAL,
    last_job_id TEXT,
    missed_count INTEGER NOT NULL DEFAULT 0,
    skipped_count INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    last_declared_at REAL,
    version INTEGER NOT NULL
);
CREATE INDEX {p}schedule_status ON {p}schedule (status, id);
CREATE TABLE {p}schedule_slot (
    schedule_id TEXT NOT NULL,
    slot_at INTEGER NOT NULL,
    job_id TEXT,
    outcome TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (schedule_id, slot_at)
) WITHOUT ROWID;
CREATE INDEX {p}schedule_slot_at ON {p}schedule_slot (slot_at);
CREATE TABLE {p}leader (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    token TEXT NOT NULL,
    expires_at REAL NOT NULL
);
