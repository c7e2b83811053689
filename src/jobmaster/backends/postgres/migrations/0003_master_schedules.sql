-- Recurring schedules, their slots (one row per occurrence: the unique key that makes a slot
-- run at most once, whatever number of planners race) and leader leases.
CREATE TABLE {p}schedule (
    id text PRIMARY KEY,
    kind text NOT NULL,
    static_key text,
    profile_id text,
    definition_id text NOT NULL,
    expression_kind text NOT NULL,
    expression_text text NOT NULL,
    expression_tz text NOT NULL,
    msg_data text NOT NULL,
    metadata text NOT NULL,
    lane text NOT NULL,
    priority smallint NOT NULL,
    max_retries integer NOT NULL,
    timeout_ms integer NOT NULL,
    backoff text NOT NULL,
    status text NOT NULL,
    misfire text NOT NULL,
    catch_up_limit integer NOT NULL,
    allow_overlap boolean NOT NULL,
    start_after timestamptz,
    end_before timestamptz,
    next_run_at timestamptz,
    planned_until timestamptz,
    last_job_id text,
    missed_count bigint NOT NULL DEFAULT 0,
    skipped_count bigint NOT NULL DEFAULT 0,
    generation integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_declared_at timestamptz,
    version integer NOT NULL
);

CREATE INDEX {p}schedule_status ON {p}schedule (status, id);

CREATE TABLE {p}schedule_slot (
    schedule_id text NOT NULL,
    slot_at timestamptz NOT NULL,
    job_id text,
    outcome text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, slot_at)
);

CREATE INDEX {p}schedule_slot_at ON {p}schedule_slot (slot_at);

CREATE TABLE {p}leader (
    name text PRIMARY KEY,
    owner text NOT NULL,
    token text NOT NULL,
    expires_at timestamptz NOT NULL
);
