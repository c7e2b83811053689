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

-- name: insert_schedule
INSERT INTO {p}schedule (
    id, kind, static_key, profile_id, definition_id, expression_kind, expression_text,
    expression_tz, msg_data, metadata, lane, priority, max_retries, timeout_ms, backoff, status,
    misfire, catch_up_limit, allow_overlap, start_after, end_before, next_run_at, planned_until,
    last_job_id, missed_count, skipped_count, generation, created_at, updated_at,
    last_declared_at, version)
VALUES (:id, :kind, :static_key, :profile_id, :definition_id, :expression_kind,
    :expression_text, :expression_tz, :msg_data, :metadata, :lane, :priority, :max_retries,
    :timeout_ms, :backoff, :status, :misfire, :catch_up_limit, :allow_overlap, :start_after,
    :end_before, :next_run_at, :planned_until, :last_job_id, :missed_count, :skipped_count,
    :generation, :now, :now, CASE WHEN :kind = 'static' THEN :now END, 1)
ON CONFLICT (id) DO NOTHING

-- name: get_schedule
SELECT * FROM {p}schedule WHERE id = ?

-- name: list_schedules
SELECT * FROM {p}schedule
WHERE (:status IS NULL OR status = :status)
  AND (:kind IS NULL OR kind = :kind)
  AND (:definition_id IS NULL OR definition_id = :definition_id)
  AND (:profile_id IS NULL OR profile_id = :profile_id)
  AND (:after_id IS NULL OR id > :after_id)
ORDER BY id
LIMIT :limit

-- name: update_schedule
UPDATE {p}schedule SET
    static_key = :static_key, profile_id = :profile_id, definition_id = :definition_id,
    expression_kind = :expression_kind, expression_text = :expression_text,
    expression_tz = :expression_tz, msg_data = :msg_data, metadata = :metadata, lane = :lane,
    priority = :priority, max_retries = :max_retries, timeout_ms = :timeout_ms,
    backoff = :backoff, status = :status, misfire = :misfire, catch_up_limit = :catch_up_limit,
    allow_overlap = :allow_overlap, start_after = :start_after, end_before = :end_before,
    next_run_at = :next_run_at, planned_until = :planned_until, last_job_id = :last_job_id,
    missed_count = :missed_count, skipped_count = :skipped_count, generation = :generation,
    updated_at = :now,
    version = version + 1
WHERE id = :id AND version = :version

-- name: declare_static
UPDATE {p}schedule SET last_declared_at = ? WHERE id IN (SELECT value FROM json_each(?))

-- name: retire_undeclared
UPDATE {p}schedule SET status = 'retired', version = version + 1, updated_at = :now
WHERE kind = 'static' AND status IN ('active', 'paused') AND last_declared_at < :before
RETURNING id

-- name: insert_slot
INSERT INTO {p}schedule_slot (schedule_id, slot_at, job_id, outcome, created_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (schedule_id, slot_at) DO NOTHING

-- name: set_slot_outcome
UPDATE {p}schedule_slot SET outcome = ? WHERE schedule_id = ? AND slot_at = ?

-- name: list_slots
SELECT * FROM {p}schedule_slot
WHERE schedule_id = :schedule_id AND (:after IS NULL OR slot_at > :after)
  AND (:outcome IS NULL OR outcome = :outcome)
ORDER BY slot_at
LIMIT :limit

-- name: delete_slot
DELETE FROM {p}schedule_slot WHERE schedule_id = ? AND slot_at = ?

-- name: trim_slots
DELETE FROM {p}schedule_slot WHERE slot_at < ?

-- name: get_leader
SELECT owner, token, expires_at FROM {p}leader WHERE name = ?

-- name: set_leader
INSERT INTO {p}leader (name, owner, token, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, token = excluded.token,
    expires_at = excluded.expires_at

-- name: renew_leader
UPDATE {p}leader SET expires_at = ? WHERE name = ? AND token = ? AND expires_at > ?

-- name: release_leader
DELETE FROM {p}leader WHERE name = ? AND token = ?

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

-- name: next_due_at
SELECT min(scheduled_at) FROM {p}agent_job
WHERE status = 'queued' AND scheduled_at > :now
  AND definition_id IN (SELECT value FROM json_each(:definitions))
  AND (:lanes IS NULL OR lane IN (SELECT value FROM json_each(:lanes)))

-- name: purge_old_ids
SELECT id FROM {p}job WHERE finished_at < ? ORDER BY finished_at LIMIT ?

-- name: purge_attempts
DELETE FROM {p}attempt WHERE job_id IN (SELECT value FROM json_each(?))

-- name: purge_jobs
DELETE FROM {p}job WHERE id IN (SELECT value FROM json_each(?))

-- name: write_logs
INSERT INTO {p}log (at, level, logger, message, host, pid) VALUES (?, ?, ?, ?, ?, ?)

-- name: list_logs
SELECT at, level, logger, message, host, pid FROM {p}log
WHERE level >= ?
  AND (? IS NULL OR substr(logger, 1, length(?)) = ?)
  AND (? IS NULL OR at >= ?)
  AND (? IS NULL OR at < ?)
  AND (? IS NULL OR instr(lower(message), lower(?)) > 0)
ORDER BY at DESC, id DESC
LIMIT ?

-- name: purge_logs
DELETE FROM {p}log WHERE id IN (SELECT id FROM {p}log WHERE at < ? ORDER BY at LIMIT ?)

-- name: register_agents
INSERT INTO {p}agent (name, kind, location, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    kind = excluded.kind, location = excluded.location, last_seen = excluded.last_seen

-- name: list_agents
SELECT name, kind, location, first_seen, last_seen FROM {p}agent ORDER BY name
