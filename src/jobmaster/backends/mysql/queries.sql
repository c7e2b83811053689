-- MySQL / MariaDB queries of JobMaster. {p} is the table prefix; parameters are asyncmy's
-- named placeholders (%(name)s); lists are tuples (IN %(ids)s) or JSON arrays expanded with
-- JSON_TABLE (the counterpart of PostgreSQL's unnest). Times are UTC DATETIME(6): the server's
-- clock is read once per transaction (the "now" column of the locking SELECT) and passed on,
-- so every row an operation writes carries the same instant.

-- name: schema_version
SELECT version FROM {p}schema_version WHERE role = %(role)s;

-- name: schema_table_exists
SELECT COUNT(*) AS found FROM information_schema.tables
WHERE table_schema = DATABASE() AND table_name = %(table)s;

-- name: set_schema_version
INSERT INTO {p}schema_version (role, version) VALUES (%(role)s, %(version)s)
ON DUPLICATE KEY UPDATE version = VALUES(version);

-- name: migration_lock
SELECT GET_LOCK(%(name)s, %(timeout)s) AS locked;

-- name: migration_unlock
SELECT RELEASE_LOCK(%(name)s);

-- name: now
SELECT UTC_TIMESTAMP(6) AS now;

-- name: find_pending_keys
SELECT idempotency_key, id AS job_id, 0 AS src FROM {p}agent_job
WHERE idempotency_key IN %(keys)s
UNION ALL
SELECT idempotency_key, job_id, 1 AS src FROM {p}agent_outbox
WHERE idempotency_key IN %(keys)s
UNION ALL
SELECT NULL, id, 2 AS src FROM {p}agent_job WHERE id IN %(ids)s
ORDER BY src;

-- name: enqueue
INSERT INTO {p}agent_job (id, definition_id, lane, priority, scheduled_at, created_at, msg_data,
                          metadata, max_retries, timeout_ms, backoff, idempotency_key,
                          schedule_id, trigger_source, status)
SELECT id, definition_id, lane, priority, COALESCE(scheduled_at, UTC_TIMESTAMP(6)),
       UTC_TIMESTAMP(6), msg_data, metadata, max_retries, timeout_ms, backoff, idempotency_key,
       schedule_id, trigger_source, 'queued'
FROM JSON_TABLE(%(jobs)s, '$[*]' COLUMNS (
    id VARCHAR(36) PATH '$.id', definition_id VARCHAR(255) PATH '$.definition_id',
    lane VARCHAR(255) PATH '$.lane', priority SMALLINT PATH '$.priority',
    scheduled_at DATETIME(6) PATH '$.scheduled_at', msg_data LONGTEXT PATH '$.msg_data',
    metadata LONGTEXT PATH '$.metadata', max_retries INT PATH '$.max_retries',
    timeout_ms INT PATH '$.timeout_ms', backoff TEXT PATH '$.backoff',
    idempotency_key VARCHAR(255) PATH '$.idempotency_key',
    schedule_id VARCHAR(255) PATH '$.schedule_id', trigger_source VARCHAR(32) PATH '$.trigger'
)) AS input;

-- name: claim
SELECT id, priority, scheduled_at
-- Candidates for a claim, in claim order, read without locks; claim_lock then locks those still
-- ready by primary key (SKIP LOCKED). A locking read of the ready index itself checks every
-- entry it passes for an implicit lock (a lookup in the clustered index and its undo history):
-- while a deep queue drains, that made a claim of 200 jobs take 3 to 25 ms instead of 2 to 4,
-- growing until the purge caught up. Only when another claim took candidates meanwhile does
-- the caller read the rest with this query plus FOR UPDATE SKIP LOCKED (taken: the rows it
-- holds already, which SKIP LOCKED would not pass over).
-- The read starts at the beginning of the ready index or, while a deep queue drains, just
-- after the last candidate of the previous claim (from_start false and the after_*
-- parameters): the entries of claimed rows stay in the index, delete-marked, until the purge
-- removes them, and a read from the start walks them all.
FROM {p}agent_job FORCE INDEX ({p}agent_job_ready)
WHERE status = 'queued' AND scheduled_at <= UTC_TIMESTAMP(6)
  AND definition_id IN %(definitions)s
  AND (%(all_lanes)s OR lane IN %(lanes)s)
  AND (%(from_start)s OR priority <> %(after_priority)s
       OR (priority = %(after_priority)s AND (scheduled_at > %(after_at)s
           OR (scheduled_at = %(after_at)s AND id > %(after_id)s))))
  AND id NOT IN %(taken)s
ORDER BY priority DESC, scheduled_at, id
LIMIT %(limit)s;

-- name: claim_lane
SELECT id, priority, scheduled_at
-- One lane: equality walks the per-lane ready index in claim order (an IN list over several
-- lanes could not keep that order).
FROM {p}agent_job FORCE INDEX ({p}agent_job_ready_lane)
WHERE status = 'queued' AND lane = %(lane)s AND scheduled_at <= UTC_TIMESTAMP(6)
  AND definition_id IN %(definitions)s
  AND (%(from_start)s OR priority <> %(after_priority)s
       OR (priority = %(after_priority)s AND (scheduled_at > %(after_at)s
           OR (scheduled_at = %(after_at)s AND id > %(after_id)s))))
  AND id NOT IN %(taken)s
ORDER BY priority DESC, scheduled_at, id
LIMIT %(limit)s;

-- name: claim_lock
SELECT id, definition_id, lane, priority, scheduled_at, created_at, msg_data, metadata, attempt,
       max_retries, timeout_ms, backoff, schedule_id, trigger_source, UTC_TIMESTAMP(6) AS now
-- The candidates of a claim still ready (the latest committed row: another claim may have
-- taken one since it was read), skipping those another claim has locked; in primary key order.
FROM {p}agent_job FORCE INDEX (PRIMARY)
WHERE id IN %(ids)s AND status = 'queued' AND scheduled_at <= UTC_TIMESTAMP(6)
FOR UPDATE SKIP LOCKED;

-- name: claim_update
UPDATE {p}agent_job
SET status = 'processing', lease_owner = %(worker)s, lease_token = CONCAT(%(token)s, id),
    lease_expires_at = %(expires)s, attempt = attempt + 1, started_at = %(now)s,
    version = version + 1
WHERE id IN %(ids)s;

-- name: lock_leases
SELECT id, lease_token, UTC_TIMESTAMP(6) AS now
-- The rows of a completion, locked in id order (every multi-row write here locks in id order,
-- so completions and lease renewals cannot deadlock). The caller keeps those whose token
-- still matches.
FROM {p}agent_job FORCE INDEX (PRIMARY)
WHERE id IN %(ids)s AND status = 'processing'
ORDER BY id
FOR UPDATE;

-- name: extend_leases
UPDATE {p}agent_job FORCE INDEX (PRIMARY)
-- A plain fenced UPDATE with no locking read first. It waits only for a row that another
-- transaction holds at this moment (the completion of that very job, in practice: a few ms)
-- and then judges the row as that transaction left it: a finished job is gone (not renewed),
-- a live lease is renewed. The IN list is walked in key order.
SET lease_expires_at = UTC_TIMESTAMP(6) + INTERVAL %(lease_us)s MICROSECOND
WHERE id IN %(ids)s AND lease_token IN %(tokens)s AND status = 'processing'
  AND lease_owner = %(worker)s;

-- name: renewed_leases
SELECT id, cancel_requested FROM {p}agent_job FORCE INDEX (PRIMARY)
-- Read in the transaction of extend_leases, after it: the rows renewed (locked by it until
-- commit). A lease token is never given twice, so a row that did not match the UPDATE cannot
-- match here.
WHERE id IN %(ids)s AND lease_token IN %(tokens)s AND status = 'processing'
  AND lease_owner = %(worker)s;

-- name: finish
INSERT INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority,
                             scheduled_at, created_at, msg_data, metadata, attempt_count,
                             max_retries, timeout_ms, idempotency_key, schedule_id,
                             trigger_source, last_error, finished_at, a_number, a_started_at,
                             a_finished_at, a_worker, a_outcome, a_error, a_traceback)
SELECT j.id, j.version + 1,
       CASE WHEN r.retry_us IS NOT NULL THEN 'queued'
            WHEN r.outcome IN ('succeeded', 'cancelled') THEN r.outcome ELSE 'failed' END,
       j.definition_id, j.lane, j.priority,
       CASE WHEN r.retry_us IS NULL THEN j.scheduled_at
            ELSE DATE_ADD(%(now)s, INTERVAL r.retry_us MICROSECOND) END,
       j.created_at, j.msg_data, j.metadata, j.attempt, j.max_retries, j.timeout_ms,
       j.idempotency_key, j.schedule_id, j.trigger_source, COALESCE(r.error, j.last_error),
       CASE WHEN r.retry_us IS NULL THEN COALESCE(%(now)s, UTC_TIMESTAMP(6)) END, j.attempt,
       r.started, r.finished,
       r.worker, r.outcome, r.error, r.traceback
FROM {p}agent_job j
-- The id column has the key's character set and collation, or the join cannot use the primary
-- key and scans the whole table for every batch. The results come sorted by id.
JOIN JSON_TABLE(%(results)s, '$[*]' COLUMNS (
    id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin PATH '$.id',
    outcome VARCHAR(16) PATH '$.outcome',
    worker VARCHAR(255) PATH '$.worker', started DATETIME(6) PATH '$.started',
    finished DATETIME(6) PATH '$.finished', error TEXT PATH '$.error',
    traceback LONGTEXT PATH '$.traceback', retry_us BIGINT PATH '$.retry_us'
)) AS r ON j.id = r.id
-- The fence (a token ends with its job's id: the list pairs them), read without locks by the
-- fast path of a completion, which then deletes under the same fence and compares the counts.
WHERE j.lease_token IN %(tokens)s;

-- name: finish_colocated
INSERT INTO {p}job (id, version, status, definition_id, lane, priority, scheduled_at, created_at,
                    msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key,
                    schedule_id, trigger_source, last_error, finished_at, agent, updated_at)
-- A standalone cluster (master tables in the same database) writes the history of a finished
-- job in the completion itself: no outbox row to write, read and delete. Same fence and same
-- versions as finish + sync_colocated; the caller then deletes the rows under the fence and
-- compares the count (a token never comes back).
SELECT j.id, j.version + 1,
       CASE WHEN r.outcome IN ('succeeded', 'cancelled') THEN r.outcome ELSE 'failed' END,
       j.definition_id, j.lane, j.priority, j.scheduled_at, j.created_at, j.msg_data,
       j.metadata, j.attempt, j.max_retries, j.timeout_ms, j.idempotency_key, j.schedule_id,
       j.trigger_source, COALESCE(r.error, j.last_error), UTC_TIMESTAMP(6), %(agent)s,
       UTC_TIMESTAMP(6)
FROM {p}agent_job j
JOIN JSON_TABLE(%(results)s, '$[*]' COLUMNS (
    id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin PATH '$.id',
    outcome VARCHAR(16) PATH '$.outcome', error TEXT PATH '$.error'
)) AS r ON j.id = r.id
WHERE j.lease_token IN %(tokens)s
ON DUPLICATE KEY UPDATE
    status = IF(j.version + 1 > {p}job.version, VALUES(status), {p}job.status),
    lane = IF(j.version + 1 > {p}job.version, VALUES(lane), {p}job.lane),
    priority = IF(j.version + 1 > {p}job.version, VALUES(priority), {p}job.priority),
    scheduled_at = IF(j.version + 1 > {p}job.version, VALUES(scheduled_at), {p}job.scheduled_at),
    attempt_count = IF(j.version + 1 > {p}job.version, VALUES(attempt_count),
                       {p}job.attempt_count),
    last_error = IF(j.version + 1 > {p}job.version, VALUES(last_error), {p}job.last_error),
    finished_at = IF(j.version + 1 > {p}job.version, VALUES(finished_at), {p}job.finished_at),
    agent = IF(j.version + 1 > {p}job.version, VALUES(agent), {p}job.agent),
    updated_at = IF(j.version + 1 > {p}job.version, VALUES(updated_at), {p}job.updated_at),
    version = GREATEST({p}job.version, j.version + 1);

-- name: finish_colocated_attempts
INSERT INTO {p}attempt (job_id, number, version, started_at, finished_at, worker_id, outcome,
                        error, traceback)
SELECT j.id, j.attempt, j.version + 1, r.started, r.finished, r.worker, r.outcome, r.error,
       r.traceback
FROM {p}agent_job j
JOIN JSON_TABLE(%(results)s, '$[*]' COLUMNS (
    id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin PATH '$.id',
    outcome VARCHAR(16) PATH '$.outcome',
    worker VARCHAR(255) PATH '$.worker', started DATETIME(6) PATH '$.started',
    finished DATETIME(6) PATH '$.finished', error TEXT PATH '$.error',
    traceback LONGTEXT PATH '$.traceback'
)) AS r ON j.id = r.id
WHERE j.lease_token IN %(tokens)s
ON DUPLICATE KEY UPDATE
    started_at = IF(j.version + 1 > {p}attempt.version, VALUES(started_at),
                    {p}attempt.started_at),
    finished_at = IF(j.version + 1 > {p}attempt.version, VALUES(finished_at),
                     {p}attempt.finished_at),
    worker_id = IF(j.version + 1 > {p}attempt.version, VALUES(worker_id), {p}attempt.worker_id),
    outcome = IF(j.version + 1 > {p}attempt.version, VALUES(outcome), {p}attempt.outcome),
    error = IF(j.version + 1 > {p}attempt.version, VALUES(error), {p}attempt.error),
    traceback = IF(j.version + 1 > {p}attempt.version, VALUES(traceback), {p}attempt.traceback),
    version = GREATEST({p}attempt.version, j.version + 1);

-- name: finish_delete
DELETE FROM {p}agent_job
-- Only a PROCESSING row has a token. No status test: the primary key is the only way in
-- (DELETE takes no index hint).
WHERE id IN %(ids)s AND lease_token IN %(tokens)s;

-- name: finish_retry
UPDATE {p}agent_job j
JOIN JSON_TABLE(%(results)s, '$[*]' COLUMNS (
    id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin PATH '$.id', error TEXT PATH '$.error',
    retry_us BIGINT PATH '$.retry_us'
)) AS r ON j.id = r.id
SET j.status = 'queued', j.scheduled_at = DATE_ADD(%(now)s, INTERVAL r.retry_us MICROSECOND),
    j.lease_owner = NULL, j.lease_token = NULL, j.lease_expires_at = NULL,
    j.last_error = COALESCE(r.error, j.last_error), j.version = j.version + 1;

-- name: delete_jobs
DELETE FROM {p}agent_job WHERE id IN %(ids)s;

-- name: release
UPDATE {p}agent_job FORCE INDEX (PRIMARY)
SET status = 'queued', attempt = attempt - 1, lease_owner = NULL, lease_token = NULL,
    lease_expires_at = NULL, started_at = NULL, version = version + 1
WHERE id IN %(ids)s AND lease_token IN %(tokens)s AND status = 'processing';

-- name: lock_job
SELECT status, UTC_TIMESTAMP(6) AS now FROM {p}agent_job WHERE id = %(id)s FOR UPDATE;

-- name: cancel_queued
INSERT INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority,
                             scheduled_at, created_at, msg_data, metadata, attempt_count,
                             max_retries, timeout_ms, idempotency_key, schedule_id,
                             trigger_source, last_error, finished_at)
SELECT id, version + 1, 'cancelled', definition_id, lane, priority, scheduled_at, created_at,
       msg_data, metadata, attempt, max_retries, timeout_ms, idempotency_key, schedule_id,
       trigger_source, last_error, %(now)s
FROM {p}agent_job WHERE id = %(id)s;

-- name: cancel_running
UPDATE {p}agent_job SET cancel_requested = TRUE WHERE id = %(id)s AND status = 'processing';

-- name: reschedule
UPDATE {p}agent_job SET scheduled_at = COALESCE(%(when)s, %(now)s), version = version + 1
WHERE id = %(id)s AND status = 'queued';

-- name: rescue_expired
SELECT id, UTC_TIMESTAMP(6) AS now FROM {p}agent_job FORCE INDEX ({p}agent_job_ready)
-- Reads the jobs in flight (the PROCESSING part of the ready index), locks the expired ones.
WHERE status = 'processing' AND lease_expires_at < UTC_TIMESTAMP(6)
ORDER BY lease_expires_at
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: rescue_events
INSERT INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority,
                             scheduled_at, created_at, msg_data, metadata, attempt_count,
                             max_retries, timeout_ms, idempotency_key, schedule_id,
                             trigger_source, last_error, finished_at, a_number, a_started_at,
                             a_finished_at, a_worker, a_outcome, a_error)
SELECT id, version + 1, IF(attempt > max_retries, 'failed', 'queued'), definition_id, lane,
       priority, IF(attempt > max_retries, scheduled_at, %(now)s), created_at, msg_data,
       metadata, attempt, max_retries, timeout_ms, idempotency_key, schedule_id, trigger_source,
       IF(attempt > max_retries, %(exhausted)s, %(lost)s),
       IF(attempt > max_retries, %(now)s, NULL), attempt, COALESCE(started_at, %(now)s),
       %(now)s, lease_owner, 'abandoned', IF(attempt > max_retries, %(exhausted)s, %(lost)s)
FROM {p}agent_job WHERE id IN %(ids)s ORDER BY id;

-- name: rescue_fail
DELETE FROM {p}agent_job WHERE id IN %(ids)s AND attempt > max_retries;

-- name: rescue_requeue
UPDATE {p}agent_job
SET status = 'queued', scheduled_at = %(now)s, lease_owner = NULL, lease_token = NULL,
    lease_expires_at = NULL, last_error = %(lost)s, version = version + 1
WHERE id IN %(ids)s AND attempt <= max_retries;

-- name: next_due_in
SELECT TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), MIN(scheduled_at)) AS due_us
-- Reads only the jobs not yet due: one range of the ready index per priority (the five values
-- of Priority: a job of any other priority is found by the next poll instead).
FROM {p}agent_job FORCE INDEX ({p}agent_job_ready)
WHERE status = 'queued' AND priority IN (1, 2, 3, 4, 5) AND scheduled_at > UTC_TIMESTAMP(6)
  AND definition_id IN %(definitions)s
  AND (%(all_lanes)s OR lane IN %(lanes)s);

-- name: get_live_job
SELECT id, status, definition_id, lane, priority, scheduled_at, created_at, msg_data, metadata,
       attempt, max_retries, last_error, schedule_id, trigger_source, idempotency_key,
       cancel_requested, lease_owner, started_at
FROM {p}agent_job WHERE id = %(id)s;

-- name: list_live_jobs
SELECT id, status, definition_id, lane, priority, scheduled_at, created_at, msg_data, metadata,
       attempt, max_retries, last_error, schedule_id, trigger_source, idempotency_key,
       cancel_requested, lease_owner, started_at
FROM {p}agent_job
WHERE (%(status)s IS NULL OR status = %(status)s)
  AND (%(definition_id)s IS NULL OR definition_id = %(definition_id)s)
  AND (%(lane)s IS NULL OR lane = %(lane)s)
  AND (%(schedule_id)s IS NULL OR schedule_id = %(schedule_id)s)
  AND (%(created_from)s IS NULL OR created_at >= %(created_from)s)
  AND (%(created_to)s IS NULL OR created_at < %(created_to)s)
  AND (%(after_created)s IS NULL OR created_at < %(after_created)s
       OR (created_at = %(after_created)s AND id < %(after_id)s))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;

-- name: read_outbox
SELECT seq, job_id, version, status, definition_id, lane, priority, scheduled_at, created_at,
       msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
       trigger_source, last_error, finished_at, a_number, a_started_at, a_finished_at, a_worker,
       a_outcome, a_error, a_traceback
FROM {p}agent_outbox ORDER BY seq LIMIT %(limit)s;

-- name: trim_outbox
DELETE FROM {p}agent_outbox
WHERE seq IN (SELECT t.seq FROM JSON_TABLE(%(seqs)s, '$[*]' COLUMNS (seq BIGINT PATH '$')) AS t);

-- name: queue_depth
SELECT lane, COUNT(*) AS depth FROM {p}agent_job WHERE status = 'queued' GROUP BY lane;

-- name: sync_colocated_lock
SELECT seq FROM {p}agent_outbox ORDER BY seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED;

-- name: sync_colocated
INSERT INTO {p}job (id, version, status, definition_id, lane, priority, scheduled_at, created_at,
                    msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key,
                    schedule_id, trigger_source, last_error, finished_at, agent, updated_at)
SELECT e.job_id, e.version, e.status, e.definition_id, e.lane, e.priority, e.scheduled_at,
       e.created_at, e.msg_data, e.metadata, e.attempt_count, e.max_retries, e.timeout_ms,
       e.idempotency_key, e.schedule_id, e.trigger_source, e.last_error, e.finished_at,
       %(agent)s, UTC_TIMESTAMP(6)
FROM {p}agent_outbox e
WHERE e.seq IN %(seqs)s
  AND e.status IN ('succeeded', 'failed', 'cancelled') -- the history holds finished jobs only
ORDER BY e.seq -- the key order: no sort (a sort of LONGTEXT rows goes through a disk table)
ON DUPLICATE KEY UPDATE
    status = IF(e.version > {p}job.version, e.status, {p}job.status),
    lane = IF(e.version > {p}job.version, e.lane, {p}job.lane),
    priority = IF(e.version > {p}job.version, e.priority, {p}job.priority),
    scheduled_at = IF(e.version > {p}job.version, e.scheduled_at, {p}job.scheduled_at),
    attempt_count = IF(e.version > {p}job.version, e.attempt_count, {p}job.attempt_count),
    last_error = IF(e.version > {p}job.version, e.last_error, {p}job.last_error),
    finished_at = IF(e.version > {p}job.version, e.finished_at, {p}job.finished_at),
    agent = IF(e.version > {p}job.version, %(agent)s, {p}job.agent),
    updated_at = IF(e.version > {p}job.version, UTC_TIMESTAMP(6), {p}job.updated_at),
    version = GREATEST({p}job.version, e.version);

-- name: sync_colocated_attempts
INSERT INTO {p}attempt (job_id, number, version, started_at, finished_at, worker_id, outcome,
                        error, traceback)
SELECT e.job_id, e.a_number, e.version, e.a_started_at, e.a_finished_at, e.a_worker,
       e.a_outcome, e.a_error, e.a_traceback
FROM {p}agent_outbox e
WHERE e.seq IN %(seqs)s AND e.a_number IS NOT NULL
ORDER BY e.seq
ON DUPLICATE KEY UPDATE
    started_at = IF(e.version > {p}attempt.version, e.a_started_at, {p}attempt.started_at),
    finished_at = IF(e.version > {p}attempt.version, e.a_finished_at, {p}attempt.finished_at),
    worker_id = IF(e.version > {p}attempt.version, e.a_worker, {p}attempt.worker_id),
    outcome = IF(e.version > {p}attempt.version, e.a_outcome, {p}attempt.outcome),
    error = IF(e.version > {p}attempt.version, e.a_error, {p}attempt.error),
    traceback = IF(e.version > {p}attempt.version, e.a_traceback, {p}attempt.traceback),
    version = GREATEST({p}attempt.version, e.version);

-- name: sync_colocated_trim
DELETE FROM {p}agent_outbox WHERE seq IN %(seqs)s;

-- name: apply_jobs
INSERT INTO {p}job (id, version, status, definition_id, lane, priority, scheduled_at, created_at,
                    msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key,
                    schedule_id, trigger_source, last_error, finished_at, agent, updated_at)
SELECT e.id, e.version, e.status, e.definition_id, e.lane, e.priority, e.scheduled_at,
       e.created_at, e.msg_data, e.metadata, e.attempt_count, e.max_retries, e.timeout_ms,
       e.idempotency_key, e.schedule_id, e.trigger_source, e.last_error, e.finished_at, e.agent,
       UTC_TIMESTAMP(6)
FROM JSON_TABLE(%(jobs)s, '$[*]' COLUMNS (
    id VARCHAR(36) PATH '$.id', version INT PATH '$.version', status VARCHAR(16) PATH '$.status',
    definition_id VARCHAR(255) PATH '$.definition_id', lane VARCHAR(255) PATH '$.lane',
    priority SMALLINT PATH '$.priority', scheduled_at DATETIME(6) PATH '$.scheduled_at',
    created_at DATETIME(6) PATH '$.created_at', msg_data LONGTEXT PATH '$.msg_data',
    metadata LONGTEXT PATH '$.metadata', attempt_count INT PATH '$.attempt_count',
    max_retries INT PATH '$.max_retries', timeout_ms INT PATH '$.timeout_ms',
    idempotency_key VARCHAR(255) PATH '$.idempotency_key',
    schedule_id VARCHAR(255) PATH '$.schedule_id', trigger_source VARCHAR(32) PATH '$.trigger',
    last_error TEXT PATH '$.last_error', finished_at DATETIME(6) PATH '$.finished_at',
    agent VARCHAR(255) PATH '$.agent'
)) AS e
ON DUPLICATE KEY UPDATE
    status = IF(e.version > {p}job.version, e.status, {p}job.status),
    lane = IF(e.version > {p}job.version, e.lane, {p}job.lane),
    priority = IF(e.version > {p}job.version, e.priority, {p}job.priority),
    scheduled_at = IF(e.version > {p}job.version, e.scheduled_at, {p}job.scheduled_at),
    attempt_count = IF(e.version > {p}job.version, e.attempt_count, {p}job.attempt_count),
    last_error = IF(e.version > {p}job.version, e.last_error, {p}job.last_error),
    finished_at = IF(e.version > {p}job.version, e.finished_at, {p}job.finished_at),
    agent = IF(e.version > {p}job.version, e.agent, {p}job.agent),
    updated_at = IF(e.version > {p}job.version, UTC_TIMESTAMP(6), {p}job.updated_at),
    version = GREATEST({p}job.version, e.version);

-- name: apply_attempts
INSERT INTO {p}attempt (job_id, number, version, started_at, finished_at, worker_id, outcome,
                        error, traceback)
SELECT a.job_id, a.number, a.version, a.started_at, a.finished_at, a.worker_id, a.outcome,
       a.error, a.traceback
FROM JSON_TABLE(%(attempts)s, '$[*]' COLUMNS (
    job_id VARCHAR(36) PATH '$.job_id', number INT PATH '$.number',
    version INT PATH '$.version', started_at DATETIME(6) PATH '$.started_at',
    finished_at DATETIME(6) PATH '$.finished_at', worker_id VARCHAR(255) PATH '$.worker_id',
    outcome VARCHAR(16) PATH '$.outcome', error TEXT PATH '$.error',
    traceback LONGTEXT PATH '$.traceback'
)) AS a
ON DUPLICATE KEY UPDATE
    started_at = IF(a.version > {p}attempt.version, a.started_at, {p}attempt.started_at),
    finished_at = IF(a.version > {p}attempt.version, a.finished_at, {p}attempt.finished_at),
    worker_id = IF(a.version > {p}attempt.version, a.worker_id, {p}attempt.worker_id),
    outcome = IF(a.version > {p}attempt.version, a.outcome, {p}attempt.outcome),
    error = IF(a.version > {p}attempt.version, a.error, {p}attempt.error),
    traceback = IF(a.version > {p}attempt.version, a.traceback, {p}attempt.traceback),
    version = GREATEST({p}attempt.version, a.version);

-- name: get_job
SELECT id, version, status, definition_id, lane, priority, scheduled_at, created_at, msg_data,
       metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
       trigger_source, last_error, finished_at, agent
FROM {p}job WHERE id = %(id)s;

-- name: get_attempts
SELECT number, started_at, finished_at, worker_id, outcome, error, traceback
FROM {p}attempt WHERE job_id = %(id)s ORDER BY number;

-- name: list_jobs
SELECT id, version, status, definition_id, lane, priority, scheduled_at, created_at, msg_data,
       metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
       trigger_source, last_error, finished_at, agent
FROM {p}job
WHERE (%(status)s IS NULL OR status = %(status)s)
  AND (%(definition_id)s IS NULL OR definition_id = %(definition_id)s)
  AND (%(lane)s IS NULL OR lane = %(lane)s)
  AND (%(schedule_id)s IS NULL OR schedule_id = %(schedule_id)s)
  AND (%(created_from)s IS NULL OR created_at >= %(created_from)s)
  AND (%(created_to)s IS NULL OR created_at < %(created_to)s)
  AND (%(after_created)s IS NULL OR created_at < %(after_created)s
       OR (created_at = %(after_created)s AND id < %(after_id)s))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;

-- name: find_idempotent
SELECT id FROM (
-- A held job first (it cannot be in the history yet), then the oldest in the history.
    SELECT id, 0 AS src, created_at FROM {p}held_job WHERE idempotency_key = %(key)s
    UNION ALL
    SELECT id, 1 AS src, created_at FROM {p}job WHERE idempotency_key = %(key)s
) AS found
ORDER BY src, created_at, id LIMIT 1;

-- name: register_worker
INSERT INTO {p}worker (id, name, host, pid, agent, lanes, concurrency, started_at,
                       last_heartbeat, status, in_flight)
VALUES (%(id)s, %(name)s, %(host)s, %(pid)s, %(agent)s, %(lanes)s, %(concurrency)s,
        %(started_at)s, UTC_TIMESTAMP(6), %(status)s, 0)
ON DUPLICATE KEY UPDATE
    name = VALUES(name), host = VALUES(host), pid = VALUES(pid), agent = VALUES(agent),
    lanes = VALUES(lanes), concurrency = VALUES(concurrency), started_at = VALUES(started_at),
    last_heartbeat = UTC_TIMESTAMP(6), status = VALUES(status);

-- name: heartbeat_workers
UPDATE {p}worker w
JOIN JSON_TABLE(%(workers)s, '$[*]' COLUMNS (
    id VARCHAR(255) PATH '$.id', in_flight INT PATH '$.in_flight'
)) AS r ON w.id = r.id
SET w.last_heartbeat = UTC_TIMESTAMP(6), w.in_flight = r.in_flight;

-- name: set_worker_status
UPDATE {p}worker SET status = %(status)s WHERE id = %(id)s;

-- name: list_workers
SELECT id, name, host, pid, agent, lanes, concurrency, started_at, last_heartbeat,
       CASE WHEN status = 'active'
                 AND last_heartbeat < UTC_TIMESTAMP(6) - INTERVAL %(dead_us)s MICROSECOND
            THEN 'dead' ELSE status END AS status,
       in_flight
FROM {p}worker ORDER BY started_at, id;

-- name: get_pending_final
SELECT seq, job_id, version, status, definition_id, lane, priority, scheduled_at, created_at,
       msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
       trigger_source, last_error, finished_at, a_number, a_started_at, a_finished_at, a_worker,
       a_outcome, a_error, a_traceback
FROM {p}agent_outbox
WHERE job_id = %(id)s AND status IN ('succeeded', 'failed', 'cancelled')
ORDER BY seq DESC LIMIT 1;

-- name: list_attempts
SELECT job_id, number, started_at, finished_at, worker_id, outcome, error, traceback
FROM {p}attempt WHERE job_id IN %(ids)s ORDER BY job_id, number;

-- name: find_held_keys
SELECT idempotency_key, id FROM {p}held_job WHERE idempotency_key IN %(keys)s
UNION ALL
SELECT idempotency_key, id FROM {p}job WHERE idempotency_key IN %(keys)s;

-- name: find_held_ids
SELECT id FROM {p}held_job WHERE id IN %(ids)s
UNION ALL
SELECT id FROM {p}job WHERE id IN %(ids)s;

-- name: hold_jobs
INSERT INTO {p}held_job (id, definition_id, lane, priority, scheduled_at, created_at, msg_data,
                         metadata, max_retries, timeout_ms, backoff, idempotency_key,
                         schedule_id, trigger_source)
SELECT id, definition_id, lane, priority, COALESCE(scheduled_at, UTC_TIMESTAMP(6)),
       UTC_TIMESTAMP(6), msg_data, metadata, max_retries, timeout_ms, backoff, idempotency_key,
       schedule_id, trigger_source
FROM JSON_TABLE(%(jobs)s, '$[*]' COLUMNS (
    id VARCHAR(36) PATH '$.id', definition_id VARCHAR(255) PATH '$.definition_id',
    lane VARCHAR(255) PATH '$.lane', priority SMALLINT PATH '$.priority',
    scheduled_at DATETIME(6) PATH '$.scheduled_at', msg_data LONGTEXT PATH '$.msg_data',
    metadata LONGTEXT PATH '$.metadata', max_retries INT PATH '$.max_retries',
    timeout_ms INT PATH '$.timeout_ms', backoff TEXT PATH '$.backoff',
    idempotency_key VARCHAR(255) PATH '$.idempotency_key',
    schedule_id VARCHAR(255) PATH '$.schedule_id', trigger_source VARCHAR(32) PATH '$.trigger'
)) AS input;

-- name: claim_held
SELECT id, definition_id, lane, priority, scheduled_at, created_at, msg_data, metadata,
       max_retries, timeout_ms, backoff, idempotency_key, schedule_id, trigger_source,
       promote_takes, UTC_TIMESTAMP(6) AS now
FROM {p}held_job FORCE INDEX ({p}held_job_due)
WHERE scheduled_at <= UTC_TIMESTAMP(6) + INTERVAL %(due_us)s MICROSECOND
  AND (promote_until IS NULL OR promote_until < UTC_TIMESTAMP(6))
ORDER BY scheduled_at, id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: take_held
UPDATE {p}held_job
SET promote_token = %(token)s, promote_until = %(until)s, promote_takes = promote_takes + 1
WHERE id IN %(ids)s;

-- name: finish_held
DELETE FROM {p}held_job WHERE id IN %(ids)s AND (id, promote_token) IN %(pairs)s;

-- name: release_held
UPDATE {p}held_job SET promote_token = NULL, promote_until = NULL
WHERE id IN %(ids)s AND (id, promote_token) IN %(pairs)s;

-- name: lock_free_held
SELECT id, UTC_TIMESTAMP(6) AS now FROM {p}held_job
-- A held job no promoter holds (its token expired or it has none), locked.
WHERE id = %(id)s AND (promote_until IS NULL OR promote_until < UTC_TIMESTAMP(6))
FOR UPDATE;

-- name: cancel_held
INSERT INTO {p}job (id, version, status, definition_id, lane, priority, scheduled_at,
                    created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
                    idempotency_key, schedule_id, trigger_source, last_error, finished_at,
                    agent, updated_at)
SELECT id, 1, 'cancelled', definition_id, lane, priority, scheduled_at, created_at, msg_data,
       metadata, 0, max_retries, timeout_ms, idempotency_key, schedule_id, trigger_source, NULL,
       %(now)s, '', %(now)s
FROM {p}held_job WHERE id = %(id)s;

-- name: delete_held
DELETE FROM {p}held_job WHERE id = %(id)s;

-- name: reschedule_held
UPDATE {p}held_job SET scheduled_at = %(when)s
WHERE id = %(id)s AND (promote_until IS NULL OR promote_until < UTC_TIMESTAMP(6));

-- name: get_held
SELECT id, 1 AS version, 'scheduled' AS status, definition_id, lane, priority, scheduled_at,
       created_at, msg_data, metadata, 0 AS attempt_count, max_retries, timeout_ms,
       idempotency_key, schedule_id, trigger_source, NULL AS last_error, NULL AS finished_at,
       '' AS agent
FROM {p}held_job WHERE id = %(id)s;

-- name: list_held
SELECT id, 1 AS version, 'scheduled' AS status, definition_id, lane, priority, scheduled_at,
-- The history's filters (list_jobs) on held jobs, which are all SCHEDULED.
       created_at, msg_data, metadata, 0 AS attempt_count, max_retries, timeout_ms,
       idempotency_key, schedule_id, trigger_source, NULL AS last_error, NULL AS finished_at,
       '' AS agent
FROM {p}held_job
WHERE (%(definition_id)s IS NULL OR definition_id = %(definition_id)s)
  AND (%(lane)s IS NULL OR lane = %(lane)s)
  AND (%(schedule_id)s IS NULL OR schedule_id = %(schedule_id)s)
  AND (%(created_from)s IS NULL OR created_at >= %(created_from)s)
  AND (%(created_to)s IS NULL OR created_at < %(created_to)s)
  AND (%(after_created)s IS NULL OR created_at < %(after_created)s
       OR (created_at = %(after_created)s AND id < %(after_id)s))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;

-- name: purge_old_ids
SELECT id FROM {p}job FORCE INDEX ({p}job_created)
-- The oldest jobs first, by the created_at index read backwards (it is descending); a job
-- created before the cutoff but finished after it stays.
WHERE created_at < UTC_TIMESTAMP(6) - INTERVAL %(older_us)s MICROSECOND
  AND finished_at < UTC_TIMESTAMP(6) - INTERVAL %(older_us)s MICROSECOND
ORDER BY created_at, id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: purge_attempts
DELETE FROM {p}attempt WHERE job_id IN %(ids)s;

-- name: purge_history
DELETE FROM {p}job WHERE id IN %(ids)s;

-- name: purge_logs
DELETE FROM {p}log WHERE at < UTC_TIMESTAMP(6) - INTERVAL %(older_us)s MICROSECOND
ORDER BY at LIMIT %(limit)s;

-- name: write_logs
INSERT INTO {p}log (at, level, logger, message, host, pid)
SELECT at, level, logger, message, host, pid
FROM JSON_TABLE(%(entries)s, '$[*]' COLUMNS (
    at DATETIME(6) PATH '$.at', level SMALLINT PATH '$.level',
    logger VARCHAR(1024) PATH '$.logger', message MEDIUMTEXT PATH '$.message',
    host VARCHAR(255) PATH '$.host', pid INT PATH '$.pid'
)) AS input;

-- name: list_logs
SELECT at, level, logger, message, host, pid FROM {p}log
-- The prefix and the text are matched literally (LEFT / LOCATE: no LIKE pattern syntax).
WHERE level >= %(min_level)s
  AND (%(prefix)s IS NULL OR LEFT(logger, CHAR_LENGTH(%(prefix)s)) = %(prefix)s)
  AND (%(since)s IS NULL OR at >= %(since)s)
  AND (%(until)s IS NULL OR at < %(until)s)
  AND (%(text)s IS NULL OR LOCATE(LOWER(%(text)s), LOWER(message)) > 0)
ORDER BY at DESC, id DESC
LIMIT %(limit)s;

-- name: register_agents
INSERT INTO {p}agent (name, kind, location, first_seen, last_seen)
SELECT name, kind, location, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
FROM JSON_TABLE(%(agents)s, '$[*]' COLUMNS (
    name VARCHAR(255) PATH '$.name', kind VARCHAR(32) PATH '$.kind',
    location VARCHAR(1024) PATH '$.location'
)) AS input
ORDER BY name
ON DUPLICATE KEY UPDATE
    kind = VALUES(kind), location = VALUES(location), last_seen = UTC_TIMESTAMP(6);

-- name: list_agents
SELECT name, kind, location, first_seen, last_seen FROM {p}agent ORDER BY name;

-- name: insert_schedule
INSERT INTO {p}schedule (
    id, kind, static_key, profile_id, definition_id, expression_kind, expression_text,
    expression_tz, msg_data, metadata, lane, priority, max_retries, timeout_ms, backoff, status,
    misfire, catch_up_limit, allow_overlap, start_after, end_before, next_run_at, planned_until,
    last_job_id, missed_count, skipped_count, generation, created_at, updated_at,
    last_declared_at, version)
VALUES (%(id)s, %(kind)s, %(static_key)s, %(profile_id)s, %(definition_id)s,
        %(expression_kind)s, %(expression_text)s, %(expression_tz)s, %(msg_data)s,
        %(metadata)s, %(lane)s, %(priority)s, %(max_retries)s, %(timeout_ms)s, %(backoff)s,
        %(status)s, %(misfire)s, %(catch_up_limit)s, %(allow_overlap)s, %(start_after)s,
        %(end_before)s, %(next_run_at)s, %(planned_until)s, %(last_job_id)s,
        %(missed_count)s, %(skipped_count)s, %(generation)s, UTC_TIMESTAMP(6),
        UTC_TIMESTAMP(6), IF(%(kind)s = 'static', UTC_TIMESTAMP(6), NULL), 1);

-- name: get_schedule
SELECT * FROM {p}schedule WHERE id = %(id)s;

-- name: list_schedules
SELECT * FROM {p}schedule
WHERE (%(status)s IS NULL OR status = %(status)s)
  AND (%(kind)s IS NULL OR kind = %(kind)s)
  AND (%(definition_id)s IS NULL OR definition_id = %(definition_id)s)
  AND (%(profile_id)s IS NULL OR profile_id = %(profile_id)s)
  AND (%(after_id)s IS NULL OR id > %(after_id)s)
ORDER BY id
LIMIT %(limit)s;

-- name: update_schedule
UPDATE {p}schedule SET
    static_key = %(static_key)s, profile_id = %(profile_id)s,
    definition_id = %(definition_id)s, expression_kind = %(expression_kind)s,
    expression_text = %(expression_text)s, expression_tz = %(expression_tz)s,
    msg_data = %(msg_data)s, metadata = %(metadata)s, lane = %(lane)s,
    priority = %(priority)s, max_retries = %(max_retries)s, timeout_ms = %(timeout_ms)s,
    backoff = %(backoff)s, status = %(status)s, misfire = %(misfire)s,
    catch_up_limit = %(catch_up_limit)s, allow_overlap = %(allow_overlap)s,
    start_after = %(start_after)s, end_before = %(end_before)s,
    next_run_at = %(next_run_at)s, planned_until = %(planned_until)s,
    last_job_id = %(last_job_id)s, missed_count = %(missed_count)s,
    skipped_count = %(skipped_count)s, generation = %(generation)s,
    updated_at = UTC_TIMESTAMP(6), version = version + 1
WHERE id = %(id)s AND version = %(version)s;

-- name: declare_static
UPDATE {p}schedule SET last_declared_at = UTC_TIMESTAMP(6) WHERE id IN %(ids)s;

-- name: lock_undeclared
SELECT id FROM {p}schedule
WHERE kind = 'static' AND status IN ('active', 'paused')
  AND last_declared_at < UTC_TIMESTAMP(6) - INTERVAL %(older_us)s MICROSECOND
ORDER BY id
FOR UPDATE;

-- name: retire_undeclared
UPDATE {p}schedule SET status = 'retired', version = version + 1, updated_at = UTC_TIMESTAMP(6)
WHERE id IN %(ids)s;

-- name: insert_slots
INSERT INTO {p}schedule_slot (schedule_id, slot_at, job_id, outcome, created_at, writer)
-- A slot that exists already is left as it is (the no-op update keeps its writer). The caller
-- reads back the rows carrying its own writer token to learn which slots it created.
SELECT schedule_id, slot_at, job_id, outcome, UTC_TIMESTAMP(6), %(writer)s
FROM JSON_TABLE(%(slots)s, '$[*]' COLUMNS (
    schedule_id VARCHAR(255) PATH '$.schedule_id', slot_at DATETIME(6) PATH '$.slot_at',
    job_id VARCHAR(255) PATH '$.job_id', outcome VARCHAR(16) PATH '$.outcome'
)) AS input
ORDER BY schedule_id, slot_at
ON DUPLICATE KEY UPDATE writer = {p}schedule_slot.writer;

-- name: created_slots
SELECT schedule_id, slot_at FROM {p}schedule_slot
WHERE schedule_id IN %(schedule_ids)s AND writer = %(writer)s AND slot_at IN %(slot_ats)s;

-- name: set_slot_outcome
UPDATE {p}schedule_slot SET outcome = %(outcome)s
WHERE schedule_id = %(schedule_id)s AND slot_at IN %(slot_ats)s;

-- name: list_slots
SELECT schedule_id, slot_at, job_id, outcome, created_at FROM {p}schedule_slot
WHERE schedule_id = %(schedule_id)s AND (%(after)s IS NULL OR slot_at > %(after)s)
  AND (%(outcome)s IS NULL OR outcome = %(outcome)s)
ORDER BY slot_at
LIMIT %(limit)s;

-- name: delete_slots
DELETE FROM {p}schedule_slot WHERE schedule_id = %(schedule_id)s AND slot_at IN %(slot_ats)s;

-- name: trim_slots
DELETE FROM {p}schedule_slot WHERE slot_at < %(before)s;

-- name: lock_leader
SELECT owner, token, expires_at > UTC_TIMESTAMP(6) AS live, UTC_TIMESTAMP(6) AS now
FROM {p}leader WHERE name = %(name)s FOR UPDATE;

-- name: insert_leader
INSERT INTO {p}leader (name, owner, token, expires_at)
VALUES (%(name)s, %(owner)s, %(token)s, UTC_TIMESTAMP(6) + INTERVAL %(ttl_us)s MICROSECOND);

-- name: set_leader
UPDATE {p}leader
SET owner = %(owner)s, token = %(token)s,
    expires_at = UTC_TIMESTAMP(6) + INTERVAL %(ttl_us)s MICROSECOND
WHERE name = %(name)s;

-- name: renew_leader
UPDATE {p}leader SET expires_at = UTC_TIMESTAMP(6) + INTERVAL %(ttl_us)s MICROSECOND
WHERE name = %(name)s AND token = %(token)s AND expires_at > UTC_TIMESTAMP(6);

-- name: release_leader
DELETE FROM {p}leader WHERE name = %(name)s AND token = %(token)s;
