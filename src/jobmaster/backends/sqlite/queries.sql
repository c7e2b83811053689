-- SQLite dialect. {p} is the table prefix. Times are REAL unix epoch seconds (UTC).
-- Lists are passed as JSON arrays and expanded with json_each.

-- name: create_schema_version
CREATE TABLE IF NOT EXISTS {p}schema_version (role TEXT PRIMARY KEY, version INTEGER NOT NULL)

-- name: schema_table_exists
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{p}schema_version'

-- name: schema_version
SELECT version FROM {p}schema_version WHERE role = ?

-- name: set_schema_version
INSERT INTO {p}schema_version (role, version) VALUES (?, ?)
ON CONFLICT (role) DO UPDATE SET version = excluded.version

-- name: existing_ids
SELECT id FROM {p}agent_job WHERE id IN (SELECT value FROM json_each(?))

-- name: find_pending_keys
SELECT idempotency_key, id, 0 AS src FROM {p}agent_job
WHERE idempotency_key IN (SELECT value FROM json_each(:keys))
UNION ALL
SELECT idempotency_key, job_id, 1 AS src FROM {p}agent_outbox
WHERE idempotency_key IN (SELECT value FROM json_each(:keys))
ORDER BY src

-- name: enqueue
INSERT INTO {p}agent_job (
    id, definition_id, lane, priority, scheduled_at, created_at, msg_data, metadata,
    max_retries, timeout_ms, backoff, idempotency_key, schedule_id, trigger_source,
    status, attempt, version
) VALUES (
    :id, :definition_id, :lane, :priority, :scheduled_at, :created_at, :msg_data, :metadata,
    :max_retries, :timeout_ms, :backoff, :idempotency_key, :schedule_id, :trigger_source,
    :status, :attempt, :version
)

-- name: insert_events
INSERT INTO {p}agent_outbox (
    job_id, version, status, definition_id, lane, priority, scheduled_at, created_at,
    msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
    trigger_source, last_error, finished_at, agent, a_number, a_started_at, a_finished_at,
    a_worker_id, a_outcome, a_error, a_traceback
) VALUES (
    :job_id, :version, :status, :definition_id, :lane, :priority, :scheduled_at, :created_at,
    :msg_data, :metadata, :attempt_count, :max_retries, :timeout_ms, :idempotency_key,
    :schedule_id, :trigger_source, :last_error, :finished_at, :agent, :a_number, :a_started_at,
    :a_finished_at, :a_worker_id, :a_outcome, :a_error, :a_traceback
)

-- name: claim
SELECT * FROM {p}agent_job
WHERE status = 'queued' AND scheduled_at <= :now
  AND definition_id IN (SELECT value FROM json_each(:definitions))
  AND (:lanes IS NULL OR lane IN (SELECT value FROM json_each(:lanes)))
ORDER BY priority DESC, scheduled_at, id
LIMIT :limit

-- name: claim_update
UPDATE {p}agent_job
SET status = 'processing', attempt = :attempt, version = :version, lease_owner = :lease_owner,
    lease_token = :lease_token, lease_expires_at = :lease_expires_at, started_at = :started_at
WHERE id = :id

-- name: held_rows
SELECT * FROM {p}agent_job
WHERE id IN (SELECT value FROM json_each(?)) AND +status = 'processing'

-- name: extend_leases
SELECT id, lease_token, cancel_requested FROM {p}agent_job
WHERE id IN (SELECT value FROM json_each(?)) AND +status = 'processing'

-- name: extend_leases_update
UPDATE {p}agent_job SET lease_expires_at = ? WHERE id = ?

-- name: requeue
UPDATE {p}agent_job
SET status = 'queued', attempt = :attempt, version = :version, scheduled_at = :scheduled_at,
    last_error = :last_error, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE id = :id

-- name: delete_job
DELETE FROM {p}agent_job WHERE id = ?

-- name: get_live_job
SELECT * FROM {p}agent_job WHERE id = ?

-- name: cancel_running
UPDATE {p}agent_job SET cancel_requested = 1 WHERE id = ?

-- name: reschedule
UPDATE {p}agent_job SET scheduled_at = :scheduled_at, version = :version WHERE id = :id

-- name: rescue_expired
SELECT * FROM {p}agent_job
WHERE status = 'processing' AND lease_expires_at < ?
ORDER BY lease_expires_at
LIMIT ?

-- name: read_outbox
SELECT * FROM {p}agent_outbox ORDER BY seq LIMIT ?

-- name: trim_outbox
DELETE FROM {p}agent_outbox WHERE seq IN (SELECT value FROM json_each(?))

-- name: trim_outbox_upto
DELETE FROM {p}agent_outbox WHERE seq <= ?

-- name: queue_depth
SELECT lane, count(*) FROM {p}agent_job WHERE status = 'queued' GROUP BY lane

-- name: apply_jobs
INSERT INTO {p}job (
    id, version, status, definition_id, lane, priority, scheduled_at, created_at, msg_data,
    metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
    trigger_source, last_error, finished_at, agent
) VALUES (
    :job_id, :version, :status, :definition_id, :lane, :priority, :scheduled_at, :created_at,
    :msg_data, :metadata, :attempt_count, :max_retries, :timeout_ms, :idempotency_key,
    :schedule_id, :trigger_source, :last_error, :finished_at, :agent
)
ON CONFLICT (id) DO UPDATE SET
    version = excluded.version, status = excluded.status,
    definition_id = excluded.definition_id, lane = excluded.lane,
    priority = excluded.priority, scheduled_at = excluded.scheduled_at,
    created_at = excluded.created_at, msg_data = excluded.msg_data,
    metadata = excluded.metadata, attempt_count = excluded.attempt_count,
    max_retries = excluded.max_retries, timeout_ms = excluded.timeout_ms,
    idempotency_key = excluded.idempotency_key, schedule_id = excluded.schedule_id,
    trigger_source = excluded.trigger_source, last_error = excluded.last_error,
    finished_at = excluded.finished_at, agent = excluded.agent
WHERE excluded.version > {p}job.version

-- name: apply_attempts
INSERT INTO {p}attempt (
    job_id, number, version, started_at, finished_at, worker_id, outcome, error, traceback
) VALUES (
    :job_id, :a_number, :version, :a_started_at, :a_finished_at, :a_worker_id, :a_outcome,
    :a_error, :a_traceback
)
ON CONFLICT (job_id, number) DO UPDATE SET
    version = excluded.version, started_at = excluded.started_at,
    finished_at = excluded.finished_at, worker_id = excluded.worker_id,
    outcome = excluded.outcome, error = excluded.error, traceback = excluded.traceback
WHERE excluded.version > {p}attempt.version

-- name: get_job
SELECT id AS job_id, * FROM {p}job WHERE id = ?

-- name: get_attempts
SELECT job_id, number AS a_number, started_at AS a_started_at, finished_at AS a_finished_at,
       worker_id AS a_worker_id, outcome AS a_outcome, error AS a_error,
       traceback AS a_traceback
FROM {p}attempt
WHERE job_id IN (SELECT value FROM json_each(?))
ORDER BY job_id, number

-- name: list_jobs
SELECT id AS job_id, * FROM {p}job
WHERE {where}
ORDER BY created_at DESC, id DESC
LIMIT ?

-- name: find_idempotent
SELECT id FROM {p}job WHERE idempotency_key = ? ORDER BY created_at, id LIMIT 1

-- name: register_worker
INSERT OR REPLACE INTO {p}worker (
    id, name, host, pid, agent, lanes, concurrency, started_at, last_heartbeat, status,
    in_flight
) VALUES (
    :id, :name, :host, :pid, :agent, :lanes, :concurrency, :started_at, :last_heartbeat,
    :status, :in_flight
)

-- name: heartbeat_workers
UPDATE {p}worker SET last_heartbeat = ?, in_flight = ? WHERE id = ?

-- name: set_worker_status
UPDATE {p}worker SET status = ? WHERE id = ?

-- name: list_workers
SELECT * FROM {p}worker ORDER BY started_at, id

-- name: sync_colocated_upto
SELECT max(seq), count(*) FROM (SELECT seq FROM {p}agent_outbox ORDER BY seq LIMIT ?)

-- name: sync_colocated
INSERT INTO {p}job (
    id, version, status, definition_id, lane, priority, scheduled_at, created_at, msg_data,
    metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
    trigger_source, last_error, finished_at, agent
)
SELECT job_id, version, status, definition_id, lane, priority, scheduled_at, created_at,
       msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
       trigger_source, last_error, finished_at, agent
FROM {p}agent_outbox
WHERE seq <= ? AND status IN ('succeeded', 'failed', 'cancelled')
ORDER BY seq
ON CONFLICT (id) DO UPDATE SET
    version = excluded.version, status = excluded.status,
    definition_id = excluded.definition_id, lane = excluded.lane,
    priority = excluded.priority, scheduled_at = excluded.scheduled_at,
    created_at = excluded.created_at, msg_data = excluded.msg_data,
    metadata = excluded.metadata, attempt_count = excluded.attempt_count,
    max_retries = excluded.max_retries, timeout_ms = excluded.timeout_ms,
    idempotency_key = excluded.idempotency_key, schedule_id = excluded.schedule_id,
    trigger_source = excluded.trigger_source, last_error = excluded.last_error,
    finished_at = excluded.finished_at, agent = excluded.agent
WHERE excluded.version > {p}job.version

-- name: sync_colocated_attempts
INSERT INTO {p}attempt (
    job_id, number, version, started_at, finished_at, worker_id, outcome, error, traceback
)
SELECT job_id, a_number, version, a_started_at, a_finished_at, a_worker_id, a_outcome, a_error,
       a_traceback
FROM {p}agent_outbox WHERE seq <= ? AND a_number IS NOT NULL ORDER BY seq
ON CONFLICT (job_id, number) DO UPDATE SET
    version = excluded.version, started_at = excluded.started_at,
    finished_at = excluded.finished_at, worker_id = excluded.worker_id,
    outcome = excluded.outcome, error = excluded.error, traceback = excluded.traceback
WHERE excluded.version > {p}attempt.version

-- name: list_live_jobs
SELECT * FROM {p}agent_job
WHERE {where}
ORDER BY created_at DESC, id DESC
LIMIT ?

-- name: get_pending_final
SELECT * FROM {p}agent_outbox
WHERE job_id = ? AND status IN ('succeeded', 'failed', 'cancelled')
ORDER BY seq DESC LIMIT 1

-- name: hold_job
INSERT INTO {p}held_job (id, definition_id, lane, priority, scheduled_at, created_at, msg_data,
                         metadata, max_retries, timeout_ms, backoff, idempotency_key,
                         schedule_id, trigger_source)
VALUES (:id, :definition_id, :lane, :priority, :scheduled_at, :created_at, :msg_data,
        :metadata, :max_retries, :timeout_ms, :backoff, :idempotency_key, :schedule_id,
        :trigger_source)
ON CONFLICT DO NOTHING

-- name: find_held_key
SELECT id FROM {p}held_job WHERE idempotency_key = ?
UNION ALL
SELECT id FROM {p}job WHERE idempotency_key = ?
LIMIT 1

-- name: job_exists
SELECT 1 FROM {p}job WHERE id = ?

-- name: due_held
SELECT * FROM {p}held_job
WHERE scheduled_at <= ? AND (promote_until IS NULL OR promote_until < ?)
ORDER BY scheduled_at, id LIMIT ?

-- name: take_held
UPDATE {p}held_job SET promote_token = ?, promote_until = ?, promote_takes = promote_takes + 1
WHERE id = ?

-- name: finish_held
DELETE FROM {p}held_job WHERE id = ? AND promote_token = ?

-- name: release_held
UPDATE {p}held_job SET promote_token = NULL, promote_until = NULL
WHERE id = ? AND promote_token = ?

-- name: get_free_held
SELECT * FROM {p}held_job WHERE id = ? AND (promote_until IS NULL OR promote_until < ?)

-- name: delete_held
DELETE FROM {p}held_job WHERE id = ?

-- name: insert_cancelled
INSERT INTO {p}job (id, version, status, definition_id, lane, priority, scheduled_at,
                    created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
                    idempotency_key, schedule_id, trigger_source, last_error, finished_at, agent)
VALUES (:id, 1, 'cancelled', :definition_id, :lane, :priority, :scheduled_at, :created_at,
        :msg_data, :metadata, 0, :max_retries, :timeout_ms, :idempotency_key, :schedule_id,
        :trigger_source, NULL, :now, '')

-- name: reschedule_held
UPDATE {p}held_job SET scheduled_at = ?
WHERE id = ? AND (promote_until IS NULL OR promote_until < ?)

-- name: list_held
SELECT * FROM (
    SELECT id AS job_id, id, 1 AS version, 'scheduled' AS status, definition_id, lane, priority,
           scheduled_at, created_at, msg_data, metadata, 0 AS attempt_count, max_retries,
           timeout_ms, idempotency_key, schedule_id, trigger_source, NULL AS last_error,
           NULL AS finished_at, '' AS agent
    FROM {p}held_job
)
WHERE {where}
ORDER BY created_at DESC, id DESC
LIMIT ?

-- name: get_held
SELECT id AS job_id, id, 1 AS version, 'scheduled' AS status, definition_id, lane, priority,
       scheduled_at, created_at, msg_data, metadata, 0 AS attempt_count, max_retries,
       timeout_ms, idempotency_key, schedule_id, trigger_source, NULL AS last_error,
       NULL AS finished_at, '' AS agent
FROM {p}held_job WHERE id = ?

-- name: purge_old_ids
SELECT id FROM {p}job WHERE finished_at < ? ORDER BY finished_at LIMIT ?

-- name: purge_attempts
DELETE FROM {p}attempt WHERE job_id IN (SELECT value FROM json_each(?))

-- name: purge_jobs
DELETE FROM {p}job WHERE id IN (SELECT value FROM json_each(?))
