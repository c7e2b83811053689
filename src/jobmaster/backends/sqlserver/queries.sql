-- SQL Server (T-SQL) queries of JobMaster. {p} is the table prefix; parameters are python-tds
-- named placeholders (%(name)s); lists travel as JSON arrays read with OPENJSON (the counterpart
-- of PostgreSQL's unnest). Each state change writes its outbox event in the same statement with
-- OUTPUT ... INTO, and returns what changed with a second OUTPUT clause. Only finished attempts
-- and jobs leaving the agent make events (enqueue, claim, release and reschedule do not). Times are DATETIME2(7)
-- UTC from SYSUTCDATETIME(), read once per batch into @now.

-- name: schema_version
SELECT version FROM {p}schema_version WHERE role = %(role)s;

-- name: schema_table_exists
SELECT CASE WHEN OBJECT_ID(%(table)s, N'U') IS NULL THEN 0 ELSE 1 END AS found;

-- name: set_schema_version
UPDATE {p}schema_version SET version = %(version)s WHERE role = %(role)s;
IF @@ROWCOUNT = 0
    INSERT INTO {p}schema_version (role, version) VALUES (%(role)s, %(version)s);

-- name: migration_lock
DECLARE @result INT;
EXEC @result = sp_getapplock @Resource = %(name)s, @LockMode = 'Exclusive',
                             @LockOwner = 'Session', @LockTimeout = 60000;
SELECT @result AS locked;

-- name: migration_unlock
EXEC sp_releaseapplock @Resource = %(name)s, @LockOwner = 'Session';

-- name: now
SELECT SYSUTCDATETIME() AS now;

-- name: enqueue
SET NOCOUNT ON;
DECLARE @now DATETIME2(7) = SYSUTCDATETIME();
INSERT INTO {p}agent_job (id, definition_id, lane, priority, scheduled_at, created_at, msg_data,
                          metadata, max_retries, timeout_ms, backoff, idempotency_key,
                          schedule_id, trigger_source, status)
OUTPUT inserted.id
SELECT j.id, j.definition_id, j.lane, j.priority, COALESCE(j.scheduled_at, @now), @now,
       j.msg_data, j.metadata, j.max_retries, j.timeout_ms, j.backoff, j.idempotency_key,
       j.schedule_id, j.trigger_source, 'queued'
FROM OPENJSON(%(jobs)s) WITH (
    id CHAR(36) '$.id', definition_id NVARCHAR(255) '$.definition_id',
    lane NVARCHAR(255) '$.lane', priority SMALLINT '$.priority',
    scheduled_at DATETIME2(7) '$.scheduled_at', msg_data NVARCHAR(MAX) '$.msg_data',
    metadata NVARCHAR(MAX) '$.metadata', max_retries INT '$.max_retries',
    timeout_ms INT '$.timeout_ms', backoff NVARCHAR(MAX) '$.backoff',
    idempotency_key NVARCHAR(255) '$.idempotency_key', schedule_id NVARCHAR(255) '$.schedule_id',
    trigger_source NVARCHAR(32) '$.trigger'
) AS j
WHERE NOT EXISTS (SELECT 1 FROM {p}agent_job a WITH (UPDLOCK, HOLDLOCK)
                  WHERE a.id = j.id OR a.idempotency_key = j.idempotency_key)
  AND (j.idempotency_key IS NULL
       OR NOT EXISTS (SELECT 1 FROM {p}agent_outbox o WHERE o.idempotency_key = j.idempotency_key));

-- name: find_pending_keys
SELECT a.idempotency_key, a.id AS job_id, 0 AS src FROM {p}agent_job a
WHERE a.idempotency_key IN (SELECT value FROM OPENJSON(%(keys)s))
UNION ALL
SELECT o.idempotency_key, o.job_id, 1 AS src FROM {p}agent_outbox o
WHERE o.idempotency_key IN (SELECT value FROM OPENJSON(%(keys)s))
ORDER BY src;

-- name: claim
SET NOCOUNT ON;
DECLARE @now DATETIME2(7) = SYSUTCDATETIME();
WITH picked AS (
    SELECT TOP (%(limit)s) *
    FROM {p}agent_job WITH (UPDLOCK, READPAST, ROWLOCK)
    WHERE status = 'queued' AND scheduled_at <= @now
      AND definition_id IN (SELECT value FROM OPENJSON(%(definitions)s))
      AND (%(lanes)s IS NULL OR lane IN (SELECT value FROM OPENJSON(%(lanes)s)))
    ORDER BY priority DESC, scheduled_at, id
)
UPDATE picked
SET status = 'processing', lease_owner = %(worker)s,
    lease_token = LOWER(CONVERT(VARCHAR(36), NEWID())),
    lease_expires_at = DATEADD(MICROSECOND, %(lease_us)s, DATEADD(SECOND, %(lease_s)s, @now)),
    attempt = attempt + 1, started_at = @now, version = version + 1
OUTPUT inserted.id, inserted.definition_id, inserted.lane, inserted.priority,
       inserted.scheduled_at, inserted.created_at, inserted.msg_data, inserted.metadata,
       inserted.attempt, inserted.max_retries, inserted.timeout_ms, inserted.backoff,
       inserted.lease_token, inserted.lease_expires_at, inserted.schedule_id,
       inserted.trigger_source;

-- name: extend_leases
UPDATE j
SET lease_expires_at = DATEADD(MICROSECOND, %(lease_us)s,
                               DATEADD(SECOND, %(lease_s)s, SYSUTCDATETIME()))
OUTPUT inserted.id, inserted.cancel_requested
FROM {p}agent_job j
JOIN OPENJSON(%(leases)s) WITH (id CHAR(36) '$.id', token VARCHAR(36) '$.token') AS r
  ON j.id = r.id AND j.lease_token = r.token
WHERE j.status = 'processing' AND j.lease_owner = %(worker)s;

-- name: finish
SET NOCOUNT ON;
DECLARE @now DATETIME2(7) = SYSUTCDATETIME();
DECLARE @r TABLE (id CHAR(36) PRIMARY KEY, token VARCHAR(36), outcome NVARCHAR(16),
                  worker NVARCHAR(255), started DATETIME2(7), finished DATETIME2(7),
                  error NVARCHAR(MAX), traceback NVARCHAR(MAX), retry_s INT, retry_us INT);
INSERT INTO @r
SELECT id, token, outcome, worker, started, finished, error, traceback, retry_s, retry_us
FROM OPENJSON(%(results)s) WITH (
    id CHAR(36) '$.id', token VARCHAR(36) '$.token', outcome NVARCHAR(16) '$.outcome',
    worker NVARCHAR(255) '$.worker', started DATETIME2(7) '$.started',
    finished DATETIME2(7) '$.finished', error NVARCHAR(MAX) '$.error',
    traceback NVARCHAR(MAX) '$.traceback', retry_s INT '$.retry_s', retry_us INT '$.retry_us'
);
DELETE j
OUTPUT deleted.id, deleted.version + 1,
       CASE WHEN r.outcome IN ('succeeded', 'cancelled') THEN r.outcome ELSE 'failed' END,
       deleted.definition_id, deleted.lane, deleted.priority, deleted.scheduled_at,
       deleted.created_at, deleted.msg_data, deleted.metadata, deleted.attempt,
       deleted.max_retries, deleted.timeout_ms, deleted.idempotency_key, deleted.schedule_id,
       deleted.trigger_source, COALESCE(r.error, deleted.last_error), @now, deleted.attempt,
       r.started, r.finished, r.worker, r.outcome, r.error, r.traceback
INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority, scheduled_at,
                      created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
                      idempotency_key, schedule_id, trigger_source, last_error, finished_at,
                      a_number, a_started_at, a_finished_at, a_worker, a_outcome, a_error,
                      a_traceback)
OUTPUT deleted.id
FROM {p}agent_job j JOIN @r r ON j.id = r.id AND j.lease_token = r.token
WHERE j.status = 'processing' AND r.retry_s IS NULL;
UPDATE j
SET status = 'queued', scheduled_at = DATEADD(MICROSECOND, r.retry_us,
                                              DATEADD(SECOND, r.retry_s, @now)),
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
    last_error = COALESCE(r.error, j.last_error), version = j.version + 1
OUTPUT inserted.id, inserted.version, inserted.status, inserted.definition_id, inserted.lane,
       inserted.priority, inserted.scheduled_at, inserted.created_at, inserted.msg_data,
       inserted.metadata, inserted.attempt, inserted.max_retries, inserted.timeout_ms,
       inserted.idempotency_key, inserted.schedule_id, inserted.trigger_source,
       inserted.last_error, inserted.attempt, r.started, r.finished, r.worker, r.outcome,
       r.error, r.traceback
INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority, scheduled_at,
                      created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
                      idempotency_key, schedule_id, trigger_source, last_error, a_number,
                      a_started_at, a_finished_at, a_worker, a_outcome, a_error, a_traceback)
OUTPUT inserted.id
FROM {p}agent_job j JOIN @r r ON j.id = r.id AND j.lease_token = r.token
WHERE j.status = 'processing' AND r.retry_s IS NOT NULL;

-- name: release
UPDATE j
SET status = 'queued', attempt = j.attempt - 1, lease_owner = NULL, lease_token = NULL,
    lease_expires_at = NULL, started_at = NULL, version = j.version + 1
OUTPUT inserted.id
FROM {p}agent_job j
JOIN OPENJSON(%(leases)s) WITH (id CHAR(36) '$.id', token VARCHAR(36) '$.token') AS r
  ON j.id = r.id AND j.lease_token = r.token
WHERE j.status = 'processing';

-- name: cancel_queued
DELETE FROM {p}agent_job
OUTPUT deleted.id, deleted.version + 1, 'cancelled', deleted.definition_id, deleted.lane,
       deleted.priority, deleted.scheduled_at, deleted.created_at, deleted.msg_data,
       deleted.metadata, deleted.attempt, deleted.max_retries, deleted.timeout_ms,
       deleted.idempotency_key, deleted.schedule_id, deleted.trigger_source,
       deleted.last_error, SYSUTCDATETIME()
INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority, scheduled_at,
                      created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
                      idempotency_key, schedule_id, trigger_source, last_error, finished_at)
OUTPUT deleted.id
WHERE id = %(id)s AND status = 'queued';

-- name: cancel_running
UPDATE {p}agent_job SET cancel_requested = 1
OUTPUT inserted.id
WHERE id = %(id)s AND status = 'processing';

-- name: reschedule
UPDATE {p}agent_job
SET scheduled_at = COALESCE(%(when)s, SYSUTCDATETIME()), version = version + 1
OUTPUT inserted.id
WHERE id = %(id)s AND status = 'queued';

-- name: rescue_expired
SET NOCOUNT ON;
DECLARE @now DATETIME2(7) = SYSUTCDATETIME();
DECLARE @expired TABLE (id CHAR(36) PRIMARY KEY);
INSERT INTO @expired (id)
SELECT TOP (%(limit)s) id FROM {p}agent_job WITH (UPDLOCK, READPAST, ROWLOCK)
WHERE status = 'processing' AND lease_expires_at < @now
ORDER BY lease_expires_at;
DELETE j
OUTPUT deleted.id, deleted.version + 1, 'failed', deleted.definition_id, deleted.lane,
       deleted.priority, deleted.scheduled_at, deleted.created_at, deleted.msg_data,
       deleted.metadata, deleted.attempt, deleted.max_retries, deleted.timeout_ms,
       deleted.idempotency_key, deleted.schedule_id, deleted.trigger_source, %(exhausted)s,
       @now, deleted.attempt, COALESCE(deleted.started_at, @now), @now, deleted.lease_owner,
       'abandoned', %(exhausted)s
INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority, scheduled_at,
                      created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
                      idempotency_key, schedule_id, trigger_source, last_error, finished_at,
                      a_number, a_started_at, a_finished_at, a_worker, a_outcome, a_error)
OUTPUT 'failed' AS outcome
FROM {p}agent_job j JOIN @expired e ON j.id = e.id
WHERE j.attempt > j.max_retries;
UPDATE j
SET status = 'queued', scheduled_at = @now, lease_owner = NULL, lease_token = NULL,
    lease_expires_at = NULL, last_error = %(lost)s, version = j.version + 1
OUTPUT inserted.id, inserted.version, 'queued', inserted.definition_id, inserted.lane,
       inserted.priority, inserted.scheduled_at, inserted.created_at, inserted.msg_data,
       inserted.metadata, inserted.attempt, inserted.max_retries, inserted.timeout_ms,
       inserted.idempotency_key, inserted.schedule_id, inserted.trigger_source, %(lost)s,
       inserted.attempt, COALESCE(deleted.started_at, @now), @now, deleted.lease_owner,
       'abandoned', %(lost)s
INTO {p}agent_outbox (job_id, version, status, definition_id, lane, priority, scheduled_at,
                      created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
                      idempotency_key, schedule_id, trigger_source, last_error, a_number,
                      a_started_at, a_finished_at, a_worker, a_outcome, a_error)
OUTPUT 'requeued' AS outcome
FROM {p}agent_job j JOIN @expired e ON j.id = e.id
WHERE j.attempt <= j.max_retries;

-- name: get_live_job
SELECT id, status, definition_id, lane, priority, scheduled_at, created_at, msg_data, metadata,
       attempt, max_retries, last_error, schedule_id, trigger_source, idempotency_key,
       cancel_requested, lease_owner, started_at
FROM {p}agent_job WHERE id = %(id)s;

-- name: list_live_jobs
SELECT TOP (%(limit)s) id, status, definition_id, lane, priority, scheduled_at, created_at,
       msg_data, metadata, attempt, max_retries, last_error, schedule_id, trigger_source,
       idempotency_key, cancel_requested, lease_owner, started_at
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
OPTION (RECOMPILE);

-- name: read_outbox
SELECT TOP (%(limit)s) seq, job_id, version, status, definition_id, lane, priority,
       scheduled_at, created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms,
       idempotency_key, schedule_id, trigger_source, last_error, finished_at, a_number,
       a_started_at, a_finished_at, a_worker, a_outcome, a_error, a_traceback
FROM {p}agent_outbox ORDER BY seq;

-- name: trim_outbox
DELETE FROM {p}agent_outbox
WHERE seq IN (SELECT CAST(value AS BIGINT) FROM OPENJSON(%(seqs)s));

-- name: queue_depth
SELECT lane, COUNT(*) AS depth FROM {p}agent_job WHERE status = 'queued' GROUP BY lane;

-- name: sync_colocated
SET NOCOUNT ON;
DECLARE @events TABLE (
    seq BIGINT PRIMARY KEY, job_id CHAR(36), version INT, status NVARCHAR(16),
    definition_id NVARCHAR(255), lane NVARCHAR(255), priority SMALLINT,
    scheduled_at DATETIME2(7), created_at DATETIME2(7), msg_data NVARCHAR(MAX),
    metadata NVARCHAR(MAX), attempt_count INT, max_retries INT, timeout_ms INT,
    idempotency_key NVARCHAR(255), schedule_id NVARCHAR(255), trigger_source NVARCHAR(32),
    last_error NVARCHAR(MAX), finished_at DATETIME2(7), a_number INT,
    a_started_at DATETIME2(7), a_finished_at DATETIME2(7), a_worker NVARCHAR(255),
    a_outcome NVARCHAR(16), a_error NVARCHAR(MAX), a_traceback NVARCHAR(MAX)
);
WITH oldest AS (
    SELECT TOP (%(limit)s) * FROM {p}agent_outbox WITH (UPDLOCK, READPAST, ROWLOCK)
    ORDER BY seq
)
DELETE FROM oldest
OUTPUT deleted.seq, deleted.job_id, deleted.version, deleted.status, deleted.definition_id,
       deleted.lane, deleted.priority, deleted.scheduled_at, deleted.created_at,
       deleted.msg_data, deleted.metadata, deleted.attempt_count, deleted.max_retries,
       deleted.timeout_ms, deleted.idempotency_key, deleted.schedule_id,
       deleted.trigger_source, deleted.last_error, deleted.finished_at, deleted.a_number,
       deleted.a_started_at, deleted.a_finished_at, deleted.a_worker, deleted.a_outcome,
       deleted.a_error, deleted.a_traceback
INTO @events;
MERGE {p}job WITH (HOLDLOCK) AS t
USING (
    SELECT * FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY version DESC) AS newest
        FROM @events WHERE status IN ('succeeded', 'failed', 'cancelled')
    ) AS ranked WHERE newest = 1
) AS s
ON t.id = s.job_id
WHEN MATCHED AND t.version < s.version THEN UPDATE SET
    version = s.version, status = s.status, lane = s.lane, priority = s.priority,
    scheduled_at = s.scheduled_at, attempt_count = s.attempt_count,
    last_error = s.last_error, finished_at = s.finished_at, agent = %(agent)s,
    updated_at = SYSUTCDATETIME()
WHEN NOT MATCHED THEN INSERT (id, version, status, definition_id, lane, priority, scheduled_at,
                              created_at, msg_data, metadata, attempt_count, max_retries,
                              timeout_ms, idempotency_key, schedule_id, trigger_source,
                              last_error, finished_at, agent)
    VALUES (s.job_id, s.version, s.status, s.definition_id, s.lane, s.priority, s.scheduled_at,
            s.created_at, s.msg_data, s.metadata, s.attempt_count, s.max_retries, s.timeout_ms,
            s.idempotency_key, s.schedule_id, s.trigger_source, s.last_error, s.finished_at,
            %(agent)s);
MERGE {p}attempt WITH (HOLDLOCK) AS t
USING (
    SELECT * FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY job_id, a_number ORDER BY version DESC)
               AS newest
        FROM @events WHERE a_number IS NOT NULL
    ) AS ranked WHERE newest = 1
) AS s
ON t.job_id = s.job_id AND t.number = s.a_number
WHEN MATCHED AND t.version < s.version THEN UPDATE SET
    version = s.version, started_at = s.a_started_at, finished_at = s.a_finished_at,
    worker_id = s.a_worker, outcome = s.a_outcome, error = s.a_error, traceback = s.a_traceback
WHEN NOT MATCHED THEN INSERT (job_id, number, version, started_at, finished_at, worker_id,
                              outcome, error, traceback)
    VALUES (s.job_id, s.a_number, s.version, s.a_started_at, s.a_finished_at, s.a_worker,
            s.a_outcome, s.a_error, s.a_traceback);
SELECT COUNT(*) AS synced FROM @events;

-- name: apply_jobs
MERGE {p}job WITH (HOLDLOCK) AS t
USING OPENJSON(%(jobs)s) WITH (
    id CHAR(36) '$.id', version INT '$.version', status NVARCHAR(16) '$.status',
    definition_id NVARCHAR(255) '$.definition_id', lane NVARCHAR(255) '$.lane',
    priority SMALLINT '$.priority', scheduled_at DATETIME2(7) '$.scheduled_at',
    created_at DATETIME2(7) '$.created_at', msg_data NVARCHAR(MAX) '$.msg_data',
    metadata NVARCHAR(MAX) '$.metadata', attempt_count INT '$.attempt_count',
    max_retries INT '$.max_retries', timeout_ms INT '$.timeout_ms',
    idempotency_key NVARCHAR(255) '$.idempotency_key', schedule_id NVARCHAR(255) '$.schedule_id',
    trigger_source NVARCHAR(32) '$.trigger', last_error NVARCHAR(MAX) '$.last_error',
    finished_at DATETIME2(7) '$.finished_at', agent NVARCHAR(255) '$.agent'
) AS s
ON t.id = s.id
WHEN MATCHED AND t.version < s.version THEN UPDATE SET
    version = s.version, status = s.status, lane = s.lane, priority = s.priority,
    scheduled_at = s.scheduled_at, attempt_count = s.attempt_count,
    last_error = s.last_error, finished_at = s.finished_at, agent = s.agent,
    updated_at = SYSUTCDATETIME()
WHEN NOT MATCHED THEN INSERT (id, version, status, definition_id, lane, priority, scheduled_at,
                              created_at, msg_data, metadata, attempt_count, max_retries,
                              timeout_ms, idempotency_key, schedule_id, trigger_source,
                              last_error, finished_at, agent)
    VALUES (s.id, s.version, s.status, s.definition_id, s.lane, s.priority, s.scheduled_at,
            s.created_at, s.msg_data, s.metadata, s.attempt_count, s.max_retries, s.timeout_ms,
            s.idempotency_key, s.schedule_id, s.trigger_source, s.last_error, s.finished_at,
            s.agent);

-- name: apply_attempts
MERGE {p}attempt WITH (HOLDLOCK) AS t
USING OPENJSON(%(attempts)s) WITH (
    job_id CHAR(36) '$.job_id', number INT '$.number', version INT '$.version',
    started_at DATETIME2(7) '$.started_at', finished_at DATETIME2(7) '$.finished_at',
    worker_id NVARCHAR(255) '$.worker_id', outcome NVARCHAR(16) '$.outcome',
    error NVARCHAR(MAX) '$.error', traceback NVARCHAR(MAX) '$.traceback'
) AS s
ON t.job_id = s.job_id AND t.number = s.number
WHEN MATCHED AND t.version < s.version THEN UPDATE SET
    version = s.version, started_at = s.started_at, finished_at = s.finished_at,
    worker_id = s.worker_id, outcome = s.outcome, error = s.error, traceback = s.traceback
WHEN NOT MATCHED THEN INSERT (job_id, number, version, started_at, finished_at, worker_id,
                              outcome, error, traceback)
    VALUES (s.job_id, s.number, s.version, s.started_at, s.finished_at, s.worker_id,
            s.outcome, s.error, s.traceback);

-- name: get_job
SELECT id, version, status, definition_id, lane, priority, scheduled_at, created_at, msg_data,
       metadata, attempt_count, max_retries, timeout_ms, idempotency_key, schedule_id,
       trigger_source, last_error, finished_at, agent
FROM {p}job WHERE id = %(id)s;

-- name: get_attempts
SELECT number, started_at, finished_at, worker_id, outcome, error, traceback
FROM {p}attempt WHERE job_id = %(id)s ORDER BY number;

-- name: list_jobs
SELECT TOP (%(limit)s) id, version, status, definition_id, lane, priority, scheduled_at,
       created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key,
       schedule_id, trigger_source, last_error, finished_at, agent
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
OPTION (RECOMPILE);

-- name: find_idempotent
SELECT TOP (1) id FROM {p}job WHERE idempotency_key = %(key)s ORDER BY created_at, id;

-- name: register_worker
MERGE {p}worker WITH (HOLDLOCK) AS t
USING (SELECT %(id)s AS id) AS s ON t.id = s.id
WHEN MATCHED THEN UPDATE SET
    name = %(name)s, host = %(host)s, pid = %(pid)s, agent = %(agent)s, lanes = %(lanes)s,
    concurrency = %(concurrency)s, started_at = %(started_at)s,
    last_heartbeat = SYSUTCDATETIME(), status = %(status)s
WHEN NOT MATCHED THEN INSERT (id, name, host, pid, agent, lanes, concurrency, started_at,
                              last_heartbeat, status, in_flight)
    VALUES (%(id)s, %(name)s, %(host)s, %(pid)s, %(agent)s, %(lanes)s, %(concurrency)s,
            %(started_at)s, SYSUTCDATETIME(), %(status)s, 0);

-- name: heartbeat_workers
UPDATE w SET last_heartbeat = SYSUTCDATETIME(), in_flight = r.in_flight
FROM {p}worker w
JOIN OPENJSON(%(workers)s) WITH (id NVARCHAR(255) '$.id', in_flight INT '$.in_flight') AS r
  ON w.id = r.id;

-- name: set_worker_status
UPDATE {p}worker SET status = %(status)s WHERE id = %(id)s;

-- name: list_workers
SELECT id, name, host, pid, agent, lanes, concurrency, started_at, last_heartbeat,
       CASE WHEN status = 'active'
                 AND last_heartbeat < DATEADD(SECOND, -%(dead_s)s, SYSUTCDATETIME())
            THEN 'dead' ELSE status END AS status,
       in_flight
FROM {p}worker ORDER BY started_at, id;

-- name: get_pending_final
SELECT TOP (1) seq, job_id, version, status, definition_id, lane, priority, scheduled_at,
       created_at, msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key,
       schedule_id, trigger_source, last_error, finished_at, a_number, a_started_at,
       a_finished_at, a_worker, a_outcome, a_error, a_traceback
FROM {p}agent_outbox
WHERE job_id = %(id)s AND status IN ('succeeded', 'failed', 'cancelled')
ORDER BY seq DESC;

-- name: list_attempts
SELECT job_id, number, started_at, finished_at, worker_id, outcome, error, traceback
FROM {p}attempt WHERE job_id IN (SELECT value FROM OPENJSON(%(ids)s))
ORDER BY job_id, number;
