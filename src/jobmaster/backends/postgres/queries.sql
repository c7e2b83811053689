-- PostgreSQL queries of JobMaster. {p} is the table prefix. Every state change of an agent job
-- writes its outbox event in the same statement (one round trip, one transaction).

-- name: schema_version
SELECT version FROM {p}schema_version WHERE role = $1;

-- name: schema_table_exists
SELECT to_regclass($1) IS NOT NULL;

-- name: set_schema_version
INSERT INTO {p}schema_version (role, version) VALUES ($1, $2)
ON CONFLICT (role) DO UPDATE SET version = EXCLUDED.version;

-- name: migration_lock
SELECT pg_advisory_xact_lock(hashtext($1));

-- name: now
SELECT now();

-- name: enqueue
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::smallint[], $5::timestamptz[],
                         $6::text[], $7::text[], $8::integer[], $9::integer[], $10::text[],
                         $11::text[], $12::text[], $13::text[])
        AS t(id, definition_id, lane, priority, scheduled_at, msg_data, metadata, max_retries,
             timeout_ms, backoff, idempotency_key, schedule_id, trigger_source)
), inserted AS (
    INSERT INTO {p}agent_job (id, definition_id, lane, priority, scheduled_at, created_at,
                              msg_data, metadata, max_retries, timeout_ms, backoff,
                              idempotency_key, schedule_id, trigger_source, status)
    SELECT id, definition_id, lane, priority, coalesce(scheduled_at, now()), now(), msg_data,
           metadata, max_retries, timeout_ms, backoff, idempotency_key, schedule_id,
           trigger_source, 'queued'
    FROM input
    WHERE input.idempotency_key IS NULL
       OR NOT EXISTS (SELECT 1 FROM {p}agent_outbox o WHERE o.idempotency_key = input.idempotency_key)
    ON CONFLICT DO NOTHING
    RETURNING id
), wake AS (
    -- Delivered at commit, with the jobs: one NOTIFY for the whole batch (or none when the
    -- caller coalesces it with a recent one).
    SELECT pg_notify($14, '') WHERE $15::boolean
)
SELECT id::text FROM inserted
UNION ALL
SELECT NULL FROM wake;

-- name: find_pending_keys
SELECT idempotency_key, id::text FROM {p}agent_job WHERE idempotency_key = ANY($1::text[])
UNION ALL
SELECT idempotency_key, job_id::text FROM {p}agent_outbox WHERE idempotency_key = ANY($1::text[]);

-- name: notify
SELECT pg_notify($1, '');

-- name: claim
WITH picked AS (
    SELECT id FROM {p}agent_job
    WHERE status = 'queued' AND scheduled_at <= now()
      AND definition_id = ANY($2::text[])
      AND ($3::text[] IS NULL OR lane = ANY($3::text[]))
    ORDER BY priority DESC, scheduled_at, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE {p}agent_job j
    SET status = 'processing', lease_owner = $1, lease_token = gen_random_uuid()::text,
        lease_expires_at = now() + $5::interval, attempt = j.attempt + 1, started_at = now(),
        version = j.version + 1
    FROM picked WHERE j.id = picked.id
    RETURNING j.*
)
SELECT id::text, definition_id, lane, priority, scheduled_at, created_at, msg_data, metadata,
       attempt, max_retries, timeout_ms, backoff, lease_token, lease_expires_at,
       schedule_id, trigger_source
FROM claimed
ORDER BY priority DESC, scheduled_at, id;

-- name: claim_lane
WITH picked AS (
    -- One lane: equality walks the per-lane ready index in claim order (ANY over several
    -- lanes cannot keep that order, and would sort every ready row).
    SELECT id FROM {p}agent_job
    WHERE status = 'queued' AND scheduled_at <= now()
      AND definition_id = ANY($2::text[])
      AND lane = $3
    ORDER BY priority DESC, scheduled_at, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE {p}agent_job j
    SET status = 'processing', lease_owner = $1, lease_token = gen_random_uuid()::text,
        lease_expires_at = now() + $5::interval, attempt = j.attempt + 1, started_at = now(),
        version = j.version + 1
    FROM picked WHERE j.id = picked.id
    RETURNING j.*
)
SELECT id::text, definition_id, lane, priority, scheduled_at, created_at, msg_data, metadata,
       attempt, max_retries, timeout_ms, backoff, lease_token, lease_expires_at,
       schedule_id, trigger_source
FROM claimed
ORDER BY priority DESC, scheduled_at, id;

-- name: extend_leases
UPDATE {p}agent_job j SET lease_expires_at = now() + $4::interval
FROM unnest($2::uuid[], $3::text[]) AS r(id, token)
WHERE j.id = r.id AND j.lease_token = r.token AND j.status = 'processing' AND j.lease_owner = $1
RETURNING j.id::text, j.cancel_requested;

-- name: finish
WITH r AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                         $6::timestamptz[], $7::text[], $8::text[], $9::float8[])
        AS t(id, token, outcome, worker, started, finished, error, traceback, retry_seconds)
), done AS (
    DELETE FROM {p}agent_job j USING r
    WHERE j.id = r.id AND j.lease_token = r.token AND j.status = 'processing'
      AND r.retry_seconds IS NULL
    RETURNING j.*, r.outcome, r.worker, r.started, r.finished, r.error, r.traceback
), retried AS (
    UPDATE {p}agent_job j
    SET status = 'queued', scheduled_at = now() + make_interval(secs => r.retry_seconds),
        lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
        last_error = coalesce(r.error, j.last_error), version = j.version + 1
    FROM r
    WHERE j.id = r.id AND j.lease_token = r.token AND j.status = 'processing'
      AND r.retry_seconds IS NOT NULL
    RETURNING j.*, r.outcome, r.worker, r.started, r.finished, r.error, r.traceback
), events AS (
    INSERT INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority,
                                 scheduled_at, created_at, msg_data, metadata, attempt_count,
                                 max_retries, timeout_ms, idempotency_key, schedule_id,
                                 trigger_source, last_error, finished_at, a_number, a_started_at,
                                 a_finished_at, a_worker, a_outcome, a_error, a_traceback)
    SELECT id, version + 1,
           CASE outcome WHEN 'succeeded' THEN 'succeeded' WHEN 'cancelled' THEN 'cancelled'
                        ELSE 'failed' END,
           definition_id, lane, priority, scheduled_at, created_at, msg_data, metadata, attempt,
           max_retries, timeout_ms, idempotency_key, schedule_id, trigger_source,
           coalesce(error, last_error), now(), attempt, started, finished, worker, outcome,
           error, traceback
    FROM done
    UNION ALL
    SELECT id, version, 'queued', definition_id, lane, priority, scheduled_at, created_at,
           msg_data, metadata, attempt, max_retries, timeout_ms, idempotency_key, schedule_id,
           trigger_source, last_error, NULL, attempt, started, finished, worker, outcome, error,
           traceback
    FROM retried
)
SELECT id::text FROM done UNION ALL SELECT id::text FROM retried;

-- name: release
WITH released AS (
    UPDATE {p}agent_job j
    SET status = 'queued', attempt = j.attempt - 1, lease_owner = NULL, lease_token = NULL,
        lease_expires_at = NULL, started_at = NULL, version = j.version + 1
    FROM unnest($1::uuid[], $2::text[]) AS r(id, token)
    WHERE j.id = r.id AND j.lease_token = r.token AND j.status = 'processing'
    RETURNING j.id
)
SELECT count(*) FROM released;

-- name: cancel_queued
WITH cancelled AS (
    DELETE FROM {p}agent_job WHERE id = $1 AND status = 'queued' RETURNING *
), events AS (
    INSERT INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority,
                                 scheduled_at, created_at, msg_data, metadata, attempt_count,
                                 max_retries, timeout_ms, idempotency_key, schedule_id,
                                 trigger_source, last_error, finished_at)
    SELECT id, version + 1, 'cancelled', definition_id, lane, priority, scheduled_at, created_at,
           msg_data, metadata, attempt, max_retries, timeout_ms, idempotency_key, schedule_id,
           trigger_source, last_error, now()
    FROM cancelled
)
SELECT count(*) FROM cancelled;

-- name: cancel_running
UPDATE {p}agent_job SET cancel_requested = true
WHERE id = $1 AND status = 'processing'
RETURNING id;

-- name: reschedule
WITH moved AS (
    UPDATE {p}agent_job SET scheduled_at = coalesce($2, now()), version = version + 1
    WHERE id = $1 AND status = 'queued'
    RETURNING id
)
SELECT count(*) FROM moved;

-- name: rescue_expired
WITH expired AS (
    SELECT id, lease_owner, started_at FROM {p}agent_job
    WHERE status = 'processing' AND lease_expires_at < now()
    ORDER BY lease_expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), failed AS (
    DELETE FROM {p}agent_job j USING expired e
    WHERE j.id = e.id AND j.attempt > j.max_retries AND j.lease_expires_at < now()
    RETURNING j.*, e.lease_owner AS owner
), requeued AS (
    UPDATE {p}agent_job j
    SET status = 'queued', scheduled_at = now(), lease_owner = NULL, lease_token = NULL,
        lease_expires_at = NULL, last_error = $3, version = j.version + 1
    FROM expired e
    WHERE j.id = e.id AND j.attempt <= j.max_retries AND j.lease_expires_at < now()
    RETURNING j.*, e.lease_owner AS owner
), events AS (
    INSERT INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority,
                                 scheduled_at, created_at, msg_data, metadata, attempt_count,
                                 max_retries, timeout_ms, idempotency_key, schedule_id,
                                 trigger_source, last_error, finished_at, a_number, a_started_at,
                                 a_finished_at, a_worker, a_outcome, a_error)
    SELECT id, version + 1, 'failed', definition_id, lane, priority, scheduled_at, created_at,
           msg_data, metadata, attempt, max_retries, timeout_ms, idempotency_key, schedule_id,
           trigger_source, $2, now(), attempt, coalesce(started_at, now()), now(), owner,
           'abandoned', $2
    FROM failed
    UNION ALL
    SELECT id, version, 'queued', definition_id, lane, priority, scheduled_at, created_at,
           msg_data, metadata, attempt, max_retries, timeout_ms, idempotency_key, schedule_id,
           trigger_source, last_error, NULL, attempt, coalesce(started_at, now()), now(), owner,
           'abandoned', $3
    FROM requeued
)
SELECT (SELECT count(*) FROM requeued) AS requeued, (SELECT count(*) FROM failed) AS failed;

-- name: get_live_job
SELECT id::text, status, definition_id, lane, priority, scheduled_at, created_at, msg_data,
       metadata, attempt, max_retries, last_error, schedule_id, trigger_source, idempotency_key,
       cancel_requested, lease_owner, started_at
FROM {p}agent_job WHERE id = $1;

-- name: read_outbox
SELECT seq, job_id::text, version, status, definition_id, lane, priority, scheduled_at,
       created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key,
       schedule_id, trigger_source, last_error, finished_at, a_number, a_started_at,
       a_finished_at, a_worker, a_outcome, a_error, a_traceback
FROM {p}agent_outbox ORDER BY seq LIMIT $1;

-- name: trim_outbox
DELETE FROM {p}agent_outbox WHERE seq = ANY($1::bigint[]);

-- name: export_outbox
SELECT seq, job_id, version, status, definition_id, lane, priority, scheduled_at, created_at,
       msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
       trigger_source, last_error, finished_at, a_number, a_started_at, a_finished_at, a_worker,
       a_outcome, a_error, a_traceback
FROM {p}agent_outbox ORDER BY seq LIMIT $1;

-- name: queue_depth
SELECT lane, count(*) FROM {p}agent_job WHERE status = 'queued' GROUP BY lane;

-- name: sync_colocated
WITH events AS (
    DELETE FROM {p}agent_outbox
    WHERE seq IN (SELECT seq FROM {p}agent_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING *
)
INSERT INTO pg_temp.jm_outbox_stage SELECT * FROM events;

-- name: create_outbox_stage
CREATE TEMPORARY TABLE IF NOT EXISTS jm_outbox_stage (
    seq bigint, job_id uuid, version integer, status text, definition_id text, lane text,
    priority smallint, scheduled_at timestamptz, created_at timestamptz, msg_data text,
    metadata text, attempt_count integer, max_retries integer, timeout_ms integer,
    idempotency_key text, schedule_id text, trigger_source text, last_error text,
    finished_at timestamptz, a_number integer, a_started_at timestamptz,
    a_finished_at timestamptz, a_worker text, a_outcome text, a_error text, a_traceback text
) ON COMMIT DELETE ROWS;

-- name: stage_nats_rows
INSERT INTO pg_temp.jm_outbox_stage
SELECT (m.msg->>0)::bigint + r.n - 1, (e->>0)::uuid, (e->>1)::integer, e->>2, e->>3, e->>4,
       (e->>5)::smallint, to_timestamp((e->>6)::float8), to_timestamp((e->>7)::float8), e->>8,
       e->>9, (e->>10)::integer, (e->>11)::integer, (e->>12)::integer, e->>13, e->>14, e->>15,
       e->>16, to_timestamp((e->>17)::float8), (e->19->>0)::integer,
       to_timestamp((e->19->>1)::float8), to_timestamp((e->19->>2)::float8), e->19->>3,
       e->19->>4, e->19->>5, e->19->>6
FROM jsonb_array_elements($1::jsonb) AS m(msg)
CROSS JOIN LATERAL jsonb_array_elements(m.msg->1) WITH ORDINALITY AS r(e, n);

-- name: apply_outbox_stage
WITH latest AS (
    SELECT DISTINCT ON (job_id) * FROM pg_temp.jm_outbox_stage
    WHERE status IN ('succeeded', 'failed', 'cancelled')
    ORDER BY job_id, version DESC
), jobs AS (
    INSERT INTO {p}job (id, version, status, definition_id, lane, priority, scheduled_at,
                        created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
                        idempotency_key, schedule_id, trigger_source, last_error, finished_at,
                        agent)
    SELECT job_id, version, status, definition_id, lane, priority, scheduled_at, created_at,
           msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key,
           schedule_id, trigger_source, last_error, finished_at, $1
    FROM latest ORDER BY job_id
    ON CONFLICT (id) DO UPDATE SET
        version = EXCLUDED.version, status = EXCLUDED.status, lane = EXCLUDED.lane,
        priority = EXCLUDED.priority, scheduled_at = EXCLUDED.scheduled_at,
        attempt_count = EXCLUDED.attempt_count, last_error = EXCLUDED.last_error,
        finished_at = EXCLUDED.finished_at, agent = EXCLUDED.agent, updated_at = now()
    WHERE {p}job.version < EXCLUDED.version
), attempts AS (
    INSERT INTO {p}attempt (job_id, number, version, started_at, finished_at, worker_id, outcome,
                            error, traceback)
    SELECT DISTINCT ON (job_id, a_number) job_id, a_number, version, a_started_at,
           a_finished_at, a_worker, a_outcome, a_error, a_traceback
    FROM pg_temp.jm_outbox_stage WHERE a_number IS NOT NULL
    ORDER BY job_id, a_number, version DESC
    ON CONFLICT (job_id, number) DO UPDATE SET
        version = EXCLUDED.version, started_at = EXCLUDED.started_at,
        finished_at = EXCLUDED.finished_at, worker_id = EXCLUDED.worker_id,
        outcome = EXCLUDED.outcome, error = EXCLUDED.error, traceback = EXCLUDED.traceback
    WHERE {p}attempt.version < EXCLUDED.version
)
SELECT coalesce(array_agg(seq), '{}'), min(coalesce(finished_at, a_finished_at, a_started_at))
FROM pg_temp.jm_outbox_stage;

-- name: apply_jobs
INSERT INTO {p}job (id, version, status, definition_id, lane, priority, scheduled_at, created_at,
                    msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key,
                    schedule_id, trigger_source, last_error, finished_at, agent)
SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::text[],
                     $6::smallint[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[],
                     $11::integer[], $12::integer[], $13::integer[], $14::text[], $15::text[],
                     $16::text[], $17::text[], $18::timestamptz[], $19::text[])
ON CONFLICT (id) DO UPDATE SET
    version = EXCLUDED.version, status = EXCLUDED.status, lane = EXCLUDED.lane,
    priority = EXCLUDED.priority, scheduled_at = EXCLUDED.scheduled_at,
    attempt_count = EXCLUDED.attempt_count, last_error = EXCLUDED.last_error,
    finished_at = EXCLUDED.finished_at, agent = EXCLUDED.agent, updated_at = now()
WHERE {p}job.version < EXCLUDED.version;

-- name: apply_attempts
INSERT INTO {p}attempt (job_id, number, version, started_at, finished_at, worker_id, outcome,
                        error, traceback)
SELECT * FROM unnest($1::uuid[], $2::integer[], $3::integer[], $4::timestamptz[],
                     $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[])
ON CONFLICT (job_id, number) DO UPDATE SET
    version = EXCLUDED.version, started_at = EXCLUDED.started_at,
    finished_at = EXCLUDED.finished_at, worker_id = EXCLUDED.worker_id,
    outcome = EXCLUDED.outcome, error = EXCLUDED.error, traceback = EXCLUDED.traceback
WHERE {p}attempt.version < EXCLUDED.version;

-- name: get_job
SELECT id::text, version, status, definition_id, lane, priority, scheduled_at, created_at,
       msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
       trigger_source, last_error, finished_at, agent
FROM {p}job WHERE id = $1;

-- name: get_attempts
SELECT number, started_at, finished_at, worker_id, outcome, error, traceback
FROM {p}attempt WHERE job_id = $1 ORDER BY number;

-- name: list_jobs
SELECT id::text, version, status, definition_id, lane, priority, scheduled_at, created_at,
       msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
       trigger_source, last_error, finished_at, agent
FROM {p}job
WHERE ($1::text IS NULL OR status = $1)
  AND ($2::text IS NULL OR definition_id = $2)
  AND ($3::text IS NULL OR lane = $3)
  AND ($4::text IS NULL OR schedule_id = $4)
  AND ($5::timestamptz IS NULL OR created_at >= $5)
  AND ($6::timestamptz IS NULL OR created_at < $6)
  AND ($7::timestamptz IS NULL OR (created_at, id) < ($7, $8::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $9;

-- name: find_idempotent
SELECT id::text FROM {p}job WHERE idempotency_key = $1 ORDER BY created_at LIMIT 1;

-- name: register_worker
INSERT INTO {p}worker (id, name, host, pid, agent, lanes, concurrency, started_at,
                       last_heartbeat, status, in_flight)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), $9, 0)
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name, host = EXCLUDED.host, pid = EXCLUDED.pid, agent = EXCLUDED.agent,
    lanes = EXCLUDED.lanes, concurrency = EXCLUDED.concurrency,
    started_at = EXCLUDED.started_at, last_heartbeat = now(), status = EXCLUDED.status;

-- name: heartbeat_workers
UPDATE {p}worker w SET last_heartbeat = now(), in_flight = r.in_flight
FROM unnest($1::text[], $2::integer[]) AS r(id, in_flight)
WHERE w.id = r.id;

-- name: set_worker_status
UPDATE {p}worker SET status = $2 WHERE id = $1;

-- name: list_workers
SELECT id, name, host, pid, agent, lanes, concurrency, started_at, last_heartbeat,
       CASE WHEN status = 'active' AND last_heartbeat < now() - $1::interval THEN 'dead'
            ELSE status END AS status,
       in_flight
FROM {p}worker ORDER BY started_at, id;

-- name: list_live_jobs
SELECT id::text, status, definition_id, lane, priority, scheduled_at, created_at, msg_data,
       metadata, attempt, max_retries, last_error, schedule_id, trigger_source, idempotency_key,
       cancel_requested, lease_owner, started_at
FROM {p}agent_job
WHERE ($1::text IS NULL OR status = $1)
  AND ($2::text IS NULL OR definition_id = $2)
  AND ($3::text IS NULL OR lane = $3)
  AND ($4::text IS NULL OR schedule_id = $4)
  AND ($5::timestamptz IS NULL OR created_at >= $5)
  AND ($6::timestamptz IS NULL OR created_at < $6)
  AND ($7::timestamptz IS NULL OR (created_at, id) < ($7, $8::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $9;

-- name: get_pending_final
SELECT seq, job_id::text, version, status, definition_id, lane, priority, scheduled_at,
       created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key,
       schedule_id, trigger_source, last_error, finished_at, a_number, a_started_at,
       a_finished_at, a_worker, a_outcome, a_error, a_traceback
FROM {p}agent_outbox
WHERE job_id = $1 AND status IN ('succeeded', 'failed', 'cancelled')
ORDER BY seq DESC LIMIT 1;

-- name: list_attempts
SELECT job_id::text, number, started_at, finished_at, worker_id, outcome, error, traceback
FROM {p}attempt WHERE job_id = ANY($1::uuid[]) ORDER BY job_id, number;

-- name: insert_schedule
INSERT INTO {p}schedule (
    id, kind, static_key, profile_id, definition_id, expression_kind, expression_text,
    expression_tz, msg_data, metadata, lane, priority, max_retries, timeout_ms, backoff, status,
    misfire, catch_up_limit, allow_overlap, start_after, end_before, next_run_at, planned_until,
    last_job_id, missed_count, skipped_count, generation, created_at, updated_at,
    last_declared_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, $22, $23, $24, $25, $26, $27, now(), now(),
        CASE WHEN $2 = 'static' THEN now() END, 1)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: get_schedule
SELECT * FROM {p}schedule WHERE id = $1;

-- name: list_schedules
SELECT * FROM {p}schedule
WHERE ($1::text IS NULL OR status = $1)
  AND ($2::text IS NULL OR kind = $2)
  AND ($3::text IS NULL OR definition_id = $3)
  AND ($4::text IS NULL OR profile_id = $4)
  AND ($5::text IS NULL OR id > $5)
ORDER BY id
LIMIT $6;

-- name: update_schedule
UPDATE {p}schedule SET
    static_key = $3, profile_id = $4, definition_id = $5, expression_kind = $6,
    expression_text = $7, expression_tz = $8, msg_data = $9, metadata = $10, lane = $11,
    priority = $12, max_retries = $13, timeout_ms = $14, backoff = $15, status = $16,
    misfire = $17, catch_up_limit = $18, allow_overlap = $19, start_after = $20,
    end_before = $21, next_run_at = $22, planned_until = $23, last_job_id = $24,
    missed_count = $25, skipped_count = $26, generation = $27, updated_at = now(),
    version = version + 1
WHERE id = $1 AND version = $2
RETURNING *;

-- name: declare_static
UPDATE {p}schedule SET last_declared_at = now() WHERE id = ANY($1::text[]);

-- name: retire_undeclared
UPDATE {p}schedule SET status = 'retired', version = version + 1, updated_at = now()
WHERE kind = 'static' AND status IN ('active', 'paused') AND last_declared_at < now() - $1::interval
RETURNING id;

-- name: insert_slots
INSERT INTO {p}schedule_slot (schedule_id, slot_at, job_id, outcome)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[])
ON CONFLICT (schedule_id, slot_at) DO NOTHING
RETURNING schedule_id, slot_at;

-- name: set_slot_outcome
UPDATE {p}schedule_slot SET outcome = $3
WHERE schedule_id = $1 AND slot_at = ANY($2::timestamptz[]);

-- name: list_slots
SELECT * FROM {p}schedule_slot
WHERE schedule_id = $1 AND ($2::timestamptz IS NULL OR slot_at > $2)
  AND ($3::text IS NULL OR outcome = $3)
ORDER BY slot_at
LIMIT $4;

-- name: delete_slots
WITH deleted AS (
    DELETE FROM {p}schedule_slot WHERE schedule_id = $1 AND slot_at = ANY($2::timestamptz[])
    RETURNING 1
)
SELECT count(*) FROM deleted;

-- name: trim_slots
WITH deleted AS (
    DELETE FROM {p}schedule_slot WHERE slot_at < $1 RETURNING 1
)
SELECT count(*) FROM deleted;

-- name: acquire_leader
INSERT INTO {p}leader AS l (name, owner, token, expires_at)
VALUES ($1, $2, $3, now() + $4::interval)
ON CONFLICT (name) DO UPDATE SET
    owner = excluded.owner,
    token = CASE WHEN l.owner = excluded.owner AND l.expires_at > now() THEN l.token
                 ELSE excluded.token END,
    expires_at = excluded.expires_at
WHERE l.expires_at <= now() OR l.owner = excluded.owner
RETURNING token;

-- name: renew_leader
UPDATE {p}leader SET expires_at = now() + $3::interval
WHERE name = $1 AND token = $2 AND expires_at > now()
RETURNING name;

-- name: release_leader
DELETE FROM {p}leader WHERE name = $1 AND token = $2 RETURNING name;

-- name: hold_jobs
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::smallint[], $5::timestamptz[],
                         $6::text[], $7::text[], $8::integer[], $9::integer[], $10::text[],
                         $11::text[], $12::text[], $13::text[])
        AS t(id, definition_id, lane, priority, scheduled_at, msg_data, metadata, max_retries,
             timeout_ms, backoff, idempotency_key, schedule_id, trigger_source)
)
INSERT INTO {p}held_job (id, definition_id, lane, priority, scheduled_at, msg_data, metadata,
                         max_retries, timeout_ms, backoff, idempotency_key, schedule_id,
                         trigger_source)
SELECT id, definition_id, lane, priority, coalesce(scheduled_at, now()), msg_data, metadata,
       max_retries, timeout_ms, backoff, idempotency_key, schedule_id, trigger_source
FROM input
WHERE NOT EXISTS (SELECT 1 FROM {p}job j WHERE j.id = input.id)
  AND (input.idempotency_key IS NULL
       OR NOT EXISTS (SELECT 1 FROM {p}job j WHERE j.idempotency_key = input.idempotency_key))
ON CONFLICT DO NOTHING
RETURNING id::text;

-- name: find_held_keys
SELECT idempotency_key, id::text FROM {p}held_job WHERE idempotency_key = ANY($1::text[])
UNION ALL
SELECT idempotency_key, id::text FROM {p}job WHERE idempotency_key = ANY($1::text[]);

-- name: claim_held
WITH picked AS (
    SELECT id FROM {p}held_job
    WHERE scheduled_at <= now() + $1::interval
      AND (promote_until IS NULL OR promote_until < now())
    ORDER BY scheduled_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE {p}held_job h
SET promote_token = $3, promote_until = now() + $4::interval, promote_takes = h.promote_takes + 1
FROM picked WHERE h.id = picked.id
RETURNING h.id::text, h.definition_id, h.lane, h.priority, h.scheduled_at, h.created_at,
          h.msg_data, h.metadata, h.max_retries, h.timeout_ms, h.backoff, h.idempotency_key,
          h.schedule_id, h.trigger_source, h.promote_takes;

-- name: finish_held
DELETE FROM {p}held_job h USING unnest($1::uuid[], $2::text[]) AS r(id, token)
WHERE h.id = r.id AND h.promote_token = r.token;

-- name: release_held
UPDATE {p}held_job h SET promote_token = NULL, promote_until = NULL
FROM unnest($1::uuid[], $2::text[]) AS r(id, token)
WHERE h.id = r.id AND h.promote_token = r.token;

-- name: cancel_held
WITH cancelled AS (
    DELETE FROM {p}held_job
    WHERE id = $1 AND (promote_until IS NULL OR promote_until < now())
    RETURNING *
)
INSERT INTO {p}job (id, version, status, definition_id, lane, priority, scheduled_at,
                    created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
                    idempotency_key, schedule_id, trigger_source, last_error, finished_at, agent)
SELECT id, 1, 'cancelled', definition_id, lane, priority, scheduled_at, created_at, msg_data,
       metadata, 0, max_retries, timeout_ms, idempotency_key, schedule_id, trigger_source, NULL,
       now(), ''
FROM cancelled
RETURNING id;

-- name: reschedule_held
UPDATE {p}held_job SET scheduled_at = $2
WHERE id = $1 AND (promote_until IS NULL OR promote_until < now())
RETURNING id;

-- name: get_held
SELECT id::text, 1 AS version, 'scheduled' AS status, definition_id, lane, priority,
       scheduled_at, created_at, msg_data, metadata, 0 AS attempt_count, max_retries,
       timeout_ms, idempotency_key, schedule_id, trigger_source, NULL AS last_error,
       NULL::timestamptz AS finished_at, '' AS agent
FROM {p}held_job WHERE id = $1;

-- name: list_held
SELECT id::text, 1 AS version, 'scheduled' AS status, definition_id, lane, priority,
       scheduled_at, created_at, msg_data, metadata, 0 AS attempt_count, max_retries,
       timeout_ms, idempotency_key, schedule_id, trigger_source, NULL AS last_error,
       NULL::timestamptz AS finished_at, '' AS agent
FROM {p}held_job
WHERE ($1::text IS NULL OR definition_id = $1)
  AND ($2::text IS NULL OR lane = $2)
  AND ($3::text IS NULL OR schedule_id = $3)
  AND ($4::timestamptz IS NULL OR created_at >= $4)
  AND ($5::timestamptz IS NULL OR created_at < $5)
  AND ($6::timestamptz IS NULL OR (created_at, id) < ($6, $7::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $8;

-- name: next_due_in
SELECT min(scheduled_at) - now() FROM {p}agent_job
WHERE status = 'queued' AND scheduled_at > now()
  AND definition_id = ANY($1::text[])
  AND ($2::text[] IS NULL OR lane = ANY($2::text[]));

-- name: purge_history
WITH old AS (
    SELECT id FROM {p}job
    WHERE created_at < now() - $1::interval AND finished_at < now() - $1::interval
    ORDER BY created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), attempts AS (
    DELETE FROM {p}attempt a USING old WHERE a.job_id = old.id
)
DELETE FROM {p}job j USING old WHERE j.id = old.id;

-- name: write_logs
INSERT INTO {p}log (at, level, logger, message, host, pid)
SELECT * FROM unnest($1::timestamptz[], $2::smallint[], $3::text[], $4::text[], $5::text[],
                     $6::integer[]);

-- name: list_logs
SELECT at, level, logger, message, host, pid FROM {p}log
WHERE level >= $1
  AND ($2::text IS NULL OR left(logger, length($2)) = $2)
  AND ($3::timestamptz IS NULL OR at >= $3)
  AND ($4::timestamptz IS NULL OR at < $4)
  AND ($5::text IS NULL OR strpos(lower(message), lower($5)) > 0)
ORDER BY at DESC, id DESC
LIMIT $6;

-- name: purge_logs
DELETE FROM {p}log WHERE id IN (
    SELECT id FROM {p}log WHERE at < now() - $1::interval ORDER BY at LIMIT $2
);

-- name: register_agents
INSERT INTO {p}agent (name, kind, location)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
ON CONFLICT (name) DO UPDATE SET
    kind = EXCLUDED.kind, location = EXCLUDED.location, last_seen = now();

-- name: list_agents
SELECT name, kind, location, first_seen, last_seen FROM {p}agent ORDER BY name;
