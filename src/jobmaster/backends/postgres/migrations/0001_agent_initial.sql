-- Agent tables: in-flight jobs and the outbox of their state changes.
CREATE TABLE IF NOT EXISTS {p}schema_version (
    role text PRIMARY KEY,
    version integer NOT NULL
);

CREATE TABLE {p}agent_job (
    id uuid PRIMARY KEY,
    definition_id text NOT NULL,
    lane text NOT NULL,
    priority smallint NOT NULL,
    scheduled_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    msg_data text NOT NULL,
    metadata text NOT NULL,
    attempt integer NOT NULL DEFAULT 0,
    max_retries integer NOT NULL,
    timeout_ms integer NOT NULL,
    backoff text NOT NULL,
    idempotency_key text,
    schedule_id text,
    trigger_source text NOT NULL,
    status text NOT NULL DEFAULT 'queued',
    lease_owner text,
    lease_token text,
    lease_expires_at timestamptz,
    started_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    last_error text,
    version integer NOT NULL DEFAULT 1
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 2000,
        autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0.0,
        autovacuum_analyze_threshold = 5000);

-- The claim walks this index: ready jobs, highest priority first, then the oldest due time.
CREATE INDEX {p}agent_job_ready ON {p}agent_job (priority DESC, scheduled_at, id)
    WHERE status = 'queued';
-- The same order within one lane: a worker of one lane must not walk past the ready jobs of
-- every other lane (measured: 5,000 queued jobs of another lane made each claim ~5x slower).
CREATE INDEX {p}agent_job_ready_lane ON {p}agent_job (lane, priority DESC, scheduled_at, id)
    WHERE status = 'queued';
CREATE INDEX {p}agent_job_leases ON {p}agent_job (lease_expires_at) WHERE status = 'processing';
CREATE UNIQUE INDEX {p}agent_job_idempotency ON {p}agent_job (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE {p}agent_outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id uuid NOT NULL,
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
    a_number integer,
    a_started_at timestamptz,
    a_finished_at timestamptz,
    a_worker text,
    a_outcome text,
    a_error text,
    a_traceback text
) WITH (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 5000,
        autovacuum_vacuum_cost_delay = 0);

CREATE INDEX {p}agent_outbox_idempotency ON {p}agent_outbox (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
