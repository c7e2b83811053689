-- Jobs held on the master (SCHEDULED) until a promoter moves them to an agent shortly before
-- they are due (distributed clusters: due later than the agent horizon, or agents that cannot
-- delay delivery).
CREATE TABLE {p}held_job (
    id uuid PRIMARY KEY,
    definition_id text NOT NULL,
    lane text NOT NULL,
    priority smallint NOT NULL,
    scheduled_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    msg_data text NOT NULL,
    metadata text NOT NULL,
    max_retries integer NOT NULL,
    timeout_ms integer NOT NULL,
    backoff text NOT NULL,
    idempotency_key text,
    schedule_id text,
    trigger_source text NOT NULL,
    promote_token text,
    promote_until timestamptz,
    promote_takes integer NOT NULL DEFAULT 0
);

CREATE INDEX {p}held_job_due ON {p}held_job (scheduled_at);
CREATE UNIQUE INDEX {p}held_job_idempotency ON {p}held_job (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- History retention: finished jobs are purged by age (see runtime/cleaner.py).
CREATE INDEX {p}job_finished ON {p}job (finished_at);
