-- Master tables: job history with every attempt, and the worker topology.
CREATE TABLE IF NOT EXISTS {p}schema_version (
    role text PRIMARY KEY,
    version integer NOT NULL
);

CREATE TABLE {p}job (
    id uuid PRIMARY KEY,
    version integer NOT NULL,
    status text NOT NULL,
    definition_id text NOT NULL,
    lane text NOT NULL,
    priority smallint NOT NULL,
    scheduled_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    msg_data text NOT NULL,
    metadata text NOT NULL,
    attempt_count integer NOT NULL,
    max_retries integer NOT NULL,
    timeout_ms integer NOT NULL,
    idempotency_key text,
    schedule_id text,
    trigger_source text NOT NULL,
    last_error text,
    finished_at timestamptz,
    agent text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX {p}job_created ON {p}job (created_at DESC, id DESC);
CREATE INDEX {p}job_status ON {p}job (status, created_at DESC, id DESC);
CREATE INDEX {p}job_definition ON {p}job (definition_id, created_at DESC, id DESC);
CREATE INDEX {p}job_lane ON {p}job (lane, created_at DESC, id DESC);
CREATE INDEX {p}job_schedule ON {p}job (schedule_id, created_at DESC) WHERE schedule_id IS NOT NULL;
CREATE INDEX {p}job_idempotency ON {p}job (idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE {p}attempt (
    job_id uuid NOT NULL,
    number integer NOT NULL,
    version integer NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    worker_id text,
    outcome text NOT NULL,
    error text,
    traceback text,
    PRIMARY KEY (job_id, number)
);

CREATE TABLE {p}worker (
    id text PRIMARY KEY,
    name text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    agent text NOT NULL,
    lanes text NOT NULL,
    concurrency integer NOT NULL,
    started_at timestamptz NOT NULL,
    last_heartbeat timestamptz NOT NULL,
    status text NOT NULL,
    in_flight integer NOT NULL DEFAULT 0
);
