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
SELECT TOP (1) id FROM (
    -- A job held for later first, then the history.
    SELECT id, 0 AS src, created_at FROM {p}held_job WHERE idempotency_key = %(key)s
    UNION ALL
    SELECT id, 1 AS src, created_at FROM {p}job WHERE idempotency_key = %(key)s
) AS holders
ORDER BY src, created_at, id;

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

-- name: next_due_in
SET NOCOUNT ON;
DECLARE @now DATETIME2(7) = SYSUTCDATETIME();
SELECT DATEDIFF_BIG(MICROSECOND, @now, MIN(scheduled_at)) AS due_in_us
FROM {p}agent_job
WHERE status = 'queued' AND scheduled_at > @now
  AND definition_id IN (SELECT value FROM OPENJSON(%(definitions)s))
  AND (%(every_lane)s = 1 OR lane IN (SELECT value FROM OPENJSON(%(lanes)s)));

-- name: hold_jobs
SET NOCOUNT ON;
DECLARE @now DATETIME2(7) = SYSUTCDATETIME();
INSERT INTO {p}held_job (id, definition_id, lane, priority, scheduled_at, created_at, msg_data,
                         metadata, max_retries, timeout_ms, backoff, idempotency_key,
                         schedule_id, trigger_source)
OUTPUT inserted.id
SELECT j.id, j.definition_id, j.lane, j.priority, COALESCE(j.scheduled_at, @now), @now,
       j.msg_data, j.metadata, j.max_retries, j.timeout_ms, j.backoff, j.idempotency_key,
       j.schedule_id, j.trigger_source
FROM OPENJSON(%(jobs)s) WITH (
    id CHAR(36) '$.id', definition_id NVARCHAR(255) '$.definition_id',
    lane NVARCHAR(255) '$.lane', priority SMALLINT '$.priority',
    scheduled_at DATETIME2(7) '$.scheduled_at', msg_data NVARCHAR(MAX) '$.msg_data',
    metadata NVARCHAR(MAX) '$.metadata', max_retries INT '$.max_retries',
    timeout_ms INT '$.timeout_ms', backoff NVARCHAR(MAX) '$.backoff',
    idempotency_key NVARCHAR(255) '$.idempotency_key', schedule_id NVARCHAR(255) '$.schedule_id',
    trigger_source NVARCHAR(32) '$.trigger'
) AS j
-- Key-range locks (UPDLOCK, HOLDLOCK) serialize two holders of one id or key; a duplicate
-- that still slips through is refused by the unique index and the transaction retried.
WHERE NOT EXISTS (SELECT 1 FROM {p}held_job h WITH (UPDLOCK, HOLDLOCK) WHERE h.id = j.id)
  AND NOT EXISTS (SELECT 1 FROM {p}job d WHERE d.id = j.id)
  AND (j.idempotency_key IS NULL
       OR (NOT EXISTS (SELECT 1 FROM {p}held_job h WITH (UPDLOCK, HOLDLOCK)
                       WHERE h.idempotency_key = j.idempotency_key)
           AND NOT EXISTS (SELECT 1 FROM {p}job d
                           WHERE d.idempotency_key = j.idempotency_key)));

-- name: find_held_keys
SELECT h.idempotency_key, h.id AS job_id, 0 AS src, h.created_at FROM {p}held_job h
WHERE h.idempotency_key IN (SELECT value FROM OPENJSON(%(keys)s))
UNION ALL
SELECT d.idempotency_key, d.id AS job_id, 1 AS src, d.created_at FROM {p}job d
WHERE d.idempotency_key IN (SELECT value FROM OPENJSON(%(keys)s))
ORDER BY src, created_at, job_id;

-- name: claim_held
SET NOCOUNT ON;
DECLARE @now DATETIME2(7) = SYSUTCDATETIME();
WITH picked AS (
    SELECT TOP (%(limit)s) *
    FROM {p}held_job WITH (UPDLOCK, READPAST, ROWLOCK)
    WHERE scheduled_at <= DATEADD(MICROSECOND, %(due_us)s, DATEADD(SECOND, %(due_s)s, @now))
      AND (promote_until IS NULL OR promote_until < @now)
    ORDER BY scheduled_at, id
)
UPDATE picked
SET promote_token = %(token)s,
    promote_until = DATEADD(MICROSECOND, %(lease_us)s, DATEADD(SECOND, %(lease_s)s, @now)),
    promote_takes = promote_takes + 1
OUTPUT inserted.id, inserted.definition_id, inserted.lane, inserted.priority,
       inserted.scheduled_at, inserted.created_at, inserted.msg_data, inserted.metadata,
       inserted.max_retries, inserted.timeout_ms, inserted.backoff, inserted.idempotency_key,
       inserted.schedule_id, inserted.trigger_source, inserted.promote_takes;

-- name: finish_held
DELETE h
OUTPUT deleted.id
FROM {p}held_job h
JOIN OPENJSON(%(tokens)s) WITH (id CHAR(36) '$.id', token NVARCHAR(450) '$.token') AS r
  ON h.id = r.id AND h.promote_token = r.token;

-- name: release_held
UPDATE h SET promote_token = NULL, promote_until = NULL
OUTPUT inserted.id
FROM {p}held_job h
JOIN OPENJSON(%(tokens)s) WITH (id CHAR(36) '$.id', token NVARCHAR(450) '$.token') AS r
  ON h.id = r.id AND h.promote_token = r.token;

-- name: cancel_held
SET NOCOUNT ON;
DECLARE @now DATETIME2(7) = SYSUTCDATETIME();
DELETE h
OUTPUT deleted.id, 1, 'cancelled', deleted.definition_id, deleted.lane, deleted.priority,
       deleted.scheduled_at, deleted.created_at, deleted.msg_data, deleted.metadata, 0,
       deleted.max_retries, deleted.timeout_ms, deleted.idempotency_key, deleted.schedule_id,
       deleted.trigger_source, @now, N'', @now
INTO {p}job (id, version, status, definition_id, lane, priority, scheduled_at, created_at,
             msg_data, metadata, attempt_count, max_retries, timeout_ms, idempotency_key,
             schedule_id, trigger_source, finished_at, agent, updated_at)
OUTPUT deleted.id
FROM {p}held_job h
WHERE h.id = %(id)s AND (h.promote_until IS NULL OR h.promote_until < @now);

-- name: reschedule_held
UPDATE {p}held_job SET scheduled_at = %(when)s
OUTPUT inserted.id
WHERE id = %(id)s AND (promote_until IS NULL OR promote_until < SYSUTCDATETIME());

-- name: get_held
SELECT id, 1 AS version, 'scheduled' AS status, definition_id, lane, priority, scheduled_at,
       created_at, msg_data, metadata, 0 AS attempt_count, max_retries, timeout_ms,
       idempotency_key, schedule_id, trigger_source, CAST(NULL AS NVARCHAR(MAX)) AS last_error,
       CAST(NULL AS DATETIME2(7)) AS finished_at, N'' AS agent
FROM {p}held_job WHERE id = %(id)s;

-- name: list_held
SELECT TOP (%(limit)s) id, 1 AS version, 'scheduled' AS status, definition_id, lane, priority,
       scheduled_at, created_at, msg_data, metadata, 0 AS attempt_count, max_retries,
       timeout_ms, idempotency_key, schedule_id, trigger_source,
       CAST(NULL AS NVARCHAR(MAX)) AS last_error, CAST(NULL AS DATETIME2(7)) AS finished_at,
       N'' AS agent
FROM {p}held_job
WHERE (%(definition_id)s IS NULL OR definition_id = %(definition_id)s)
  AND (%(lane)s IS NULL OR lane = %(lane)s)
  AND (%(schedule_id)s IS NULL OR schedule_id = %(schedule_id)s)
  AND (%(created_from)s IS NULL OR created_at >= %(created_from)s)
  AND (%(created_to)s IS NULL OR created_at < %(created_to)s)
  AND (%(after_created)s IS NULL OR created_at < %(after_created)s
       OR (created_at = %(after_created)s AND id < %(after_id)s))
ORDER BY created_at DESC, id DESC
OPTION (RECOMPILE);

-- name: purge_history
SET NOCOUNT ON;
DECLARE @cutoff DATETIME2(7) = DATEADD(MICROSECOND, -%(older_us)s,
                                       DATEADD(SECOND, -%(older_s)s, SYSUTCDATETIME()));
DECLARE @old TABLE (id CHAR(36) PRIMARY KEY);
INSERT INTO @old (id)
SELECT TOP (%(limit)s) id FROM {p}job WITH (UPDLOCK, READPAST, ROWLOCK)
WHERE finished_at < @cutoff
ORDER BY finished_at;
DELETE a FROM {p}attempt a JOIN @old o ON a.job_id = o.id;
DELETE d FROM {p}job d JOIN @old o ON d.id = o.id;
SELECT @@ROWCOUNT AS purged;

-- name: purge_logs
SET NOCOUNT ON;
DECLARE @cutoff DATETIME2(7) = DATEADD(MICROSECOND, -%(older_us)s,
                                       DATEADD(SECOND, -%(older_s)s, SYSUTCDATETIME()));
WITH old AS (
    SELECT TOP (%(limit)s) id FROM {p}log WITH (UPDLOCK, READPAST, ROWLOCK)
    WHERE at < @cutoff
    ORDER BY at
)
DELETE FROM old;
SELECT @@ROWCOUNT AS purged;

-- name: write_logs
INSERT INTO {p}log (at, level, logger, message, host, pid)
SELECT e.at, e.level, e.logger, e.message, e.host, e.pid
FROM OPENJSON(%(entries)s) WITH (
    at DATETIME2(7) '$.at', level SMALLINT '$.level', logger NVARCHAR(1000) '$.logger',
    message NVARCHAR(MAX) '$.message', host NVARCHAR(255) '$.host', pid INT '$.pid'
) AS e;

-- name: list_logs
SELECT TOP (%(limit)s) at, level, logger, message, host, pid
FROM {p}log
-- The LIKE patterns are built by the caller with every wildcard escaped ('!'): the filters
-- match literally. A binary collation keeps the logger prefix case-sensitive; the text is
-- compared lower-cased.
WHERE level >= %(min_level)s
  AND (%(logger_like)s IS NULL
       OR logger COLLATE Latin1_General_BIN2 LIKE %(logger_like)s ESCAPE N'!')
  AND (%(since)s IS NULL OR at >= %(since)s)
  AND (%(until)s IS NULL OR at < %(until)s)
  AND (%(text_like)s IS NULL
       OR LOWER(message) COLLATE Latin1_General_BIN2 LIKE %(text_like)s ESCAPE N'!')
ORDER BY at DESC, id DESC
OPTION (RECOMPILE);

-- name: register_agents
MERGE {p}agent WITH (HOLDLOCK) AS t
USING OPENJSON(%(agents)s) WITH (
    name NVARCHAR(255) '$.name', kind NVARCHAR(32) '$.kind', location NVARCHAR(1000) '$.location'
) AS s
ON t.name = s.name
WHEN MATCHED THEN UPDATE SET
    kind = s.kind, location = s.location, last_seen = SYSUTCDATETIME()
WHEN NOT MATCHED THEN INSERT (name, kind, location, first_seen, last_seen)
    VALUES (s.name, s.kind, s.location, SYSUTCDATETIME(), SYSUTCDATETIME());

-- name: list_agents
SELECT name, kind, location, first_seen, last_seen FROM {p}agent ORDER BY name;

-- name: insert_schedule
SET NOCOUNT ON;
DECLARE @now DATETIME2(7) = SYSUTCDATETIME();
INSERT INTO {p}schedule (
    id, kind, static_key, profile_id, definition_id, expression_kind, expression_text,
    expression_tz, msg_data, metadata, lane, priority, max_retries, timeout_ms, backoff, status,
    misfire, catch_up_limit, allow_overlap, start_after, end_before, next_run_at, planned_until,
    last_job_id, missed_count, skipped_count, generation, created_at, updated_at,
    last_declared_at, version)
OUTPUT inserted.id
SELECT %(id)s, %(kind)s, %(static_key)s, %(profile_id)s, %(definition_id)s,
       %(expression_kind)s, %(expression_text)s, %(expression_tz)s, %(msg_data)s, %(metadata)s,
       %(lane)s, %(priority)s, %(max_retries)s, %(timeout_ms)s, %(backoff)s, %(status)s,
       %(misfire)s, %(catch_up_limit)s, %(allow_overlap)s, %(start_after)s, %(end_before)s,
       %(next_run_at)s, %(planned_until)s, %(last_job_id)s, %(missed_count)s,
       %(skipped_count)s, %(generation)s, @now, @now,
       CASE WHEN %(kind)s = 'static' THEN @now END, 1
-- Two processes declaring one static schedule: the key-range lock makes the second wait and
-- then find the row (nothing is changed).
WHERE NOT EXISTS (SELECT 1 FROM {p}schedule s WITH (UPDLOCK, HOLDLOCK) WHERE s.id = %(id)s);

-- name: get_schedule
SELECT id, kind, static_key, profile_id, definition_id, expression_kind, expression_text,
       expression_tz, msg_data, metadata, lane, priority, max_retries, timeout_ms, backoff,
       status, misfire, catch_up_limit, allow_overlap, start_after, end_before, next_run_at,
       planned_until, last_job_id, missed_count, skipped_count, generation, created_at,
       updated_at, last_declared_at, version
FROM {p}schedule WHERE id = %(id)s;

-- name: list_schedules
SELECT TOP (%(limit)s) id, kind, static_key, profile_id, definition_id, expression_kind,
       expression_text, expression_tz, msg_data, metadata, lane, priority, max_retries,
       timeout_ms, backoff, status, misfire, catch_up_limit, allow_overlap, start_after,
       end_before, next_run_at, planned_until, last_job_id, missed_count, skipped_count,
       generation, created_at, updated_at, last_declared_at, version
FROM {p}schedule
WHERE (%(status)s IS NULL OR status = %(status)s)
  AND (%(kind)s IS NULL OR kind = %(kind)s)
  AND (%(definition_id)s IS NULL OR definition_id = %(definition_id)s)
  AND (%(profile_id)s IS NULL OR profile_id = %(profile_id)s)
  AND (%(after_id)s IS NULL OR id > %(after_id)s)
ORDER BY id
OPTION (RECOMPILE);

-- name: update_schedule
UPDATE {p}schedule SET
    static_key = %(static_key)s, profile_id = %(profile_id)s, definition_id = %(definition_id)s,
    expression_kind = %(expression_kind)s, expression_text = %(expression_text)s,
    expression_tz = %(expression_tz)s, msg_data = %(msg_data)s, metadata = %(metadata)s,
    lane = %(lane)s, priority = %(priority)s, max_retries = %(max_retries)s,
    timeout_ms = %(timeout_ms)s, backoff = %(backoff)s, status = %(status)s,
    misfire = %(misfire)s, catch_up_limit = %(catch_up_limit)s,
    allow_overlap = %(allow_overlap)s, start_after = %(start_after)s,
    end_before = %(end_before)s, next_run_at = %(next_run_at)s,
    planned_until = %(planned_until)s, last_job_id = %(last_job_id)s,
    missed_count = %(missed_count)s, skipped_count = %(skipped_count)s,
    generation = %(generation)s, updated_at = SYSUTCDATETIME(), version = version + 1
OUTPUT inserted.id, inserted.kind, inserted.static_key, inserted.profile_id,
       inserted.definition_id, inserted.expression_kind, inserted.expression_text,
       inserted.expression_tz, inserted.msg_data, inserted.metadata, inserted.lane,
       inserted.priority, inserted.max_retries, inserted.timeout_ms, inserted.backoff,
       inserted.status, inserted.misfire, inserted.catch_up_limit, inserted.allow_overlap,
       inserted.start_after, inserted.end_before, inserted.next_run_at, inserted.planned_until,
       inserted.last_job_id, inserted.missed_count, inserted.skipped_count,
       inserted.generation, inserted.created_at, inserted.updated_at,
       inserted.last_declared_at, inserted.version
WHERE id = %(id)s AND version = %(version)s;

-- name: declare_static
UPDATE {p}schedule SET last_declared_at = SYSUTCDATETIME()
WHERE id IN (SELECT value FROM OPENJSON(%(ids)s));

-- name: retire_undeclared
UPDATE {p}schedule
SET status = 'retired', version = version + 1, updated_at = SYSUTCDATETIME()
OUTPUT inserted.id
WHERE kind = 'static' AND status IN ('active', 'paused')
  AND last_declared_at < DATEADD(MICROSECOND, -%(older_us)s,
                                 DATEADD(SECOND, -%(older_s)s, SYSUTCDATETIME()));

-- name: insert_slots
MERGE {p}schedule_slot WITH (HOLDLOCK) AS t
USING OPENJSON(%(slots)s) WITH (
    n INT '$.n', schedule_id NVARCHAR(255) '$.schedule_id', slot_at DATETIME2(7) '$.slot_at',
    job_id NVARCHAR(255) '$.job_id', outcome NVARCHAR(16) '$.outcome'
) AS s
ON t.schedule_id = s.schedule_id AND t.slot_at = s.slot_at
-- Only new slots are written (an existing slot is left as it is); OUTPUT names the
-- position in the caller's list of each slot this statement created.
WHEN NOT MATCHED THEN INSERT (schedule_id, slot_at, job_id, outcome, created_at)
    VALUES (s.schedule_id, s.slot_at, s.job_id, s.outcome, SYSUTCDATETIME())
OUTPUT s.n;

-- name: set_slot_outcome
UPDATE {p}schedule_slot SET outcome = %(outcome)s
WHERE schedule_id = %(schedule_id)s
  AND slot_at IN (SELECT CONVERT(DATETIME2(7), value, 126) FROM OPENJSON(%(slot_ats)s));

-- name: list_slots
SELECT TOP (%(limit)s) schedule_id, slot_at, job_id, outcome, created_at
FROM {p}schedule_slot
WHERE schedule_id = %(schedule_id)s
  AND (%(after)s IS NULL OR slot_at > %(after)s)
  AND (%(outcome)s IS NULL OR outcome = %(outcome)s)
ORDER BY slot_at;

-- name: delete_slots
DELETE s
OUTPUT deleted.slot_at
FROM {p}schedule_slot s
WHERE s.schedule_id = %(schedule_id)s
  AND s.slot_at IN (SELECT CONVERT(DATETIME2(7), value, 126) FROM OPENJSON(%(slot_ats)s));

-- name: trim_slots
SET NOCOUNT ON;
DELETE FROM {p}schedule_slot WHERE slot_at < %(before)s;
SELECT @@ROWCOUNT AS trimmed;

-- name: acquire_leader
SET NOCOUNT ON;
DECLARE @now DATETIME2(7) = SYSUTCDATETIME();
DECLARE @until DATETIME2(7) = DATEADD(MICROSECOND, %(ttl_us)s,
                                      DATEADD(SECOND, %(ttl_s)s, @now));
-- Free or expired: taken with the new token; held by this owner: extended, same token; held
-- by another owner: nothing changes and nothing is returned. SET reads the old row values.
MERGE {p}leader WITH (HOLDLOCK) AS t
USING (SELECT %(name)s AS name) AS s ON t.name = s.name
WHEN MATCHED AND (t.expires_at <= @now OR t.owner = %(owner)s) THEN UPDATE SET
    token = CASE WHEN t.owner = %(owner)s AND t.expires_at > @now THEN t.token
                 ELSE %(token)s END,
    owner = %(owner)s, expires_at = @until
WHEN NOT MATCHED THEN INSERT (name, owner, token, expires_at)
    VALUES (%(name)s, %(owner)s, %(token)s, @until)
OUTPUT inserted.token;

-- name: renew_leader
UPDATE {p}leader
SET expires_at = DATEADD(MICROSECOND, %(ttl_us)s, DATEADD(SECOND, %(ttl_s)s, SYSUTCDATETIME()))
OUTPUT inserted.name
WHERE name = %(name)s AND token = %(token)s AND expires_at > SYSUTCDATETIME();

-- name: release_leader
DELETE l
OUTPUT deleted.name
FROM {p}leader l
WHERE l.name = %(name)s AND l.token = %(token)s;
