"""SQL Server backend without a server: query files, parameters at every call site, T-SQL shape,
migrations, DSN parsing, configuration, and the error for an unreachable server.

The conformance suite runs the backend for real when JOBMASTER_SQLSERVER_DSN names a server.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobmaster.backends._common import encode_cursor
from jobmaster.backends.factory import make_agent, make_master
from jobmaster.backends.sql import Queries, load_migrations, load_queries
from jobmaster.backends.sqlserver import SqlServerAgent, SqlServerMaster, parse_dsn
from jobmaster.backends.sqlserver.connection import SqlServerStore
from jobmaster.config import BackendSpec, ClusterConfig
from jobmaster.errors import BackendUnavailableError, ConfigurationError
from jobmaster.model import (
    AgentRecord,
    Attempt,
    AttemptOutcome,
    AttemptResult,
    JobEvent,
    JobQuery,
    JobStatus,
    LeaseRef,
    LogEntry,
    LogQuery,
    NewJob,
    TriggerSource,
    WorkerRecord,
)
from jobmaster.recurring.records import (
    ScheduleKind,
    ScheduleQuery,
    ScheduleRecord,
    ScheduleStatus,
    SlotOutcome,
    SlotRecord,
)

PACKAGE = "jobmaster.backends.sqlserver"
POSTGRES, SQLITE = "jobmaster.backends.postgres", "jobmaster.backends.sqlite"
PREFIX = "jmx_"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")

#: The columns of a schedule a caller writes (the store sets created_at, updated_at,
#: last_declared_at and version).
SCHEDULE_COLUMNS = (
    "id", "kind", "static_key", "profile_id", "definition_id", "expression_kind",
    "expression_text", "expression_tz", "msg_data", "metadata", "lane", "priority",
    "max_retries", "timeout_ms", "backoff", "status", "misfire", "catch_up_limit",
    "allow_overlap", "start_after", "end_before", "next_run_at", "planned_until", "last_job_id",
    "missed_count", "skipped_count", "generation",
)

#: The parameters each query takes (python-tds named placeholders).
EXPECTED_PARAMS: dict[str, set[str]] = {
    "schema_version": {"role"},
    "schema_table_exists": {"table"},
    "set_schema_version": {"role", "version"},
    "migration_lock": {"name"},
    "migration_unlock": {"name"},
    "now": set(),
    "enqueue": {"jobs"},
    "find_pending_keys": {"keys"},
    "claim": {"limit", "definitions", "lanes", "worker", "lease_s", "lease_us"},
    "extend_leases": {"leases", "worker", "lease_s", "lease_us"},
    "finish": {"results"},
    "release": {"leases"},
    "cancel_queued": {"id"},
    "cancel_running": {"id"},
    "reschedule": {"id", "when"},
    "rescue_expired": {"limit", "exhausted", "lost"},
    "get_live_job": {"id"},
    "get_pending_final": {"id"},
    "list_attempts": {"ids"},
    "list_live_jobs": {"status", "definition_id", "lane", "schedule_id", "created_from",
                       "created_to", "after_created", "after_id", "limit"},
    "read_outbox": {"limit"},
    "trim_outbox": {"seqs"},
    "queue_depth": set(),
    "sync_colocated": {"limit", "agent"},
    "apply_jobs": {"jobs"},
    "apply_attempts": {"attempts"},
    "get_job": {"id"},
    "get_attempts": {"id"},
    "list_jobs": {"status", "definition_id", "lane", "schedule_id", "created_from",
                  "created_to", "after_created", "after_id", "limit"},
    "find_idempotent": {"key"},
    "register_worker": {"id", "name", "host", "pid", "agent", "lanes", "concurrency",
                        "started_at", "status"},
    "heartbeat_workers": {"workers"},
    "set_worker_status": {"id", "status"},
    "list_workers": {"dead_s"},
    # The agent's next due time (recurring slots enqueued for later).
    "next_due_in": {"definitions", "lanes", "every_lane"},
    # Held jobs.
    "hold_jobs": {"jobs"},
    "find_held_keys": {"keys"},
    "claim_held": {"limit", "due_s", "due_us", "token", "lease_s", "lease_us"},
    "finish_held": {"tokens"},
    "release_held": {"tokens"},
    "cancel_held": {"id"},
    "reschedule_held": {"id", "when"},
    "get_held": {"id"},
    "list_held": {"definition_id", "lane", "schedule_id", "created_from", "created_to",
                  "after_created", "after_id", "limit"},
    # History retention, logs, agent registry.
    "purge_history": {"older_s", "older_us", "limit"},
    "purge_logs": {"older_s", "older_us", "limit"},
    "write_logs": {"entries"},
    "list_logs": {"min_level", "logger_like", "since", "until", "text_like", "limit"},
    "register_agents": {"agents"},
    "list_agents": set(),
    # Recurring schedules, slots and leader leases.
    "insert_schedule": set(SCHEDULE_COLUMNS),
    "get_schedule": {"id"},
    "list_schedules": {"status", "kind", "definition_id", "profile_id", "after_id", "limit"},
    "update_schedule": set(SCHEDULE_COLUMNS) - {"kind"} | {"version"},
    "declare_static": {"ids"},
    "retire_undeclared": {"older_s", "older_us"},
    "insert_slots": {"slots"},
    "set_slot_outcome": {"schedule_id", "slot_ats", "outcome"},
    "list_slots": {"schedule_id", "after", "outcome", "limit"},
    "delete_slots": {"schedule_id", "slot_ats"},
    "trim_slots": {"before"},
    "acquire_leader": {"name", "owner", "token", "ttl_s", "ttl_us"},
    "renew_leader": {"name", "token", "ttl_s", "ttl_us"},
    "release_leader": {"name", "token"},
}

#: Syntax of other dialects that must never appear in T-SQL.
FOREIGN_SYNTAX = [
    (r"\$\d", "PostgreSQL positional parameter"),
    (r"::", "PostgreSQL cast"),
    (r"\bRETURNING\b", "RETURNING (use OUTPUT)"),
    (r"\bON\s+CONFLICT\b", "ON CONFLICT (use MERGE)"),
    (r"\bunnest\b", "unnest (use OPENJSON)"),
    (r"FOR\s+UPDATE", "FOR UPDATE (use UPDLOCK)"),
    (r"SKIP\s+LOCKED", "SKIP LOCKED (use READPAST)"),
    (r"\bLIMIT\b", "LIMIT (use TOP)"),
    (r"\bnow\(\)", "now() (use SYSUTCDATETIME())"),
    (r"\bILIKE\b|\bDISTINCT\s+ON\b", "PostgreSQL-only"),
    (r"`|\bON\s+DUPLICATE\b|\bJSON_TABLE\b|UTC_TIMESTAMP", "MySQL-only"),
    (r"\btimestamptz\b|\bboolean\b|\bGENERATED\s+ALWAYS\b|\bjsonb?\b", "PostgreSQL type"),
    (r"\bINTERVAL\b", "INTERVAL (use DATEADD)"),
    (r"\?", "qmark placeholder"),
    (r"\bTRUE\b|\bFALSE\b", "boolean literal (BIT is 1 or 0)"),
    (r"\|\|", "|| concatenation (use +)"),
    (r"\bEXCLUDED\.", "EXCLUDED (use the MERGE source)"),
    (r"\bNULLS\s+(FIRST|LAST)\b", "NULLS FIRST/LAST"),
    (r"\bTOP\s+(?!\()", "TOP without parentheses (a parameter needs them)"),
    (r"\bOFFSET\b(?![^;]*\bFETCH\b)", "OFFSET without FETCH"),
    # SQL Server 2019 is the oldest version supported: nothing that came with 2022.
    (r"\bGREATEST\b|\bLEAST\b|\bDATETRUNC\b|\bDATE_BUCKET\b|\bGENERATE_SERIES\b",
     "SQL Server 2022 function"),
    (r"\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b|\bJSON_OBJECT\b|\bJSON_ARRAY\b|\bWINDOW\b",
     "SQL Server 2022 syntax"),
]


#: What a statement may update, delete from or read besides the prefixed tables: OPENJSON,
#: common table expressions and table aliases (``UPDATE h ... FROM {p}held_job h``).
LOCAL_NAMES = {"OPENJSON", "oldest", "picked", "old", "j", "w", "h", "information_schema"}


def _code(sql: str) -> str:
    """The SQL without comments and string literals."""
    sql = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"N?'(?:[^']|'')*'", "''", sql)


def _balanced(sql: str) -> bool:
    depth = 0
    for char in _code(sql):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.fixture(scope="module")
def queries() -> Queries:
    return Queries(PACKAGE, PREFIX)


def test_every_query_name_is_defined() -> None:
    names = set(load_queries(PACKAGE))
    assert names == set(EXPECTED_PARAMS)
    # Every operation the PostgreSQL and SQLite stores both name, under the same names; only
    # ``migration_unlock`` is SQL Server's own (the migration lock is session-owned).
    shared = set(load_queries(POSTGRES)) & set(load_queries(SQLITE))
    assert shared <= names, sorted(shared - names)
    assert names - set(load_queries(POSTGRES)) == {"migration_unlock"}


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_query_parameters(queries: Queries, name: str) -> None:
    assert set(PLACEHOLDER.findall(queries[name])) == EXPECTED_PARAMS[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_rendered_tsql_is_plausible(queries: Queries, name: str) -> None:
    sql = queries[name]
    code = PLACEHOLDER.sub("@param", _code(sql))
    assert "{p}" not in sql and "{" not in code
    assert _balanced(sql), f"{name}: unbalanced parentheses"
    for pattern, what in FOREIGN_SYNTAX:
        assert not re.search(pattern, code, re.IGNORECASE), f"{name}: {what}"
    assert "%" not in code, f"{name}: stray % (python-tds pyformat)"
    for table in re.findall(r"\b(?:FROM|INTO|UPDATE|JOIN|MERGE)\s+(?!SET\b)(\w+)", code):
        assert table.startswith(PREFIX) or table in LOCAL_NAMES, (name, table)


def test_merge_statements_are_terminated() -> None:
    store = SqlServerStore(BackendSpec("sqlserver", "mssql://sa@h/db", PREFIX), pool_role="agent")
    for name in EXPECTED_PARAMS:
        statements = [s for s in _code(store.sql(name)).split(";") if s.strip()]
        assert all(s.count("MERGE ") <= 1 for s in statements), name
        assert store.sql(name).rstrip().endswith(";")


def test_claims_and_changes_use_locks_and_output(queries: Queries) -> None:
    for name in ("claim", "rescue_expired", "sync_colocated"):
        assert "UPDLOCK, READPAST, ROWLOCK" in queries[name]
    # Finished attempts and jobs leaving the agent write their event in the same statement.
    for name in ("finish", "cancel_queued", "rescue_expired"):
        assert f"INTO {PREFIX}agent_outbox" in queries[name], name
    # In-flight transitions only change the job (the agent is their source of truth).
    for name in ("enqueue", "claim", "release", "reschedule", "extend_leases"):
        assert f"{PREFIX}agent_outbox (" not in queries[name], name
    for name in ("enqueue", "claim", "finish", "release", "cancel_queued", "reschedule",
                 "rescue_expired", "extend_leases", "cancel_running"):
        assert re.search(r"\bOUTPUT (inserted|deleted)\.", queries[name]), name
    for name in ("apply_jobs", "apply_attempts", "register_worker", "sync_colocated"):
        assert "MERGE" in queries[name] and "HOLDLOCK" in queries[name]
    assert "@@ROWCOUNT = 0" in queries["set_schema_version"]  # UPDATE-then-INSERT
    assert "SYSUTCDATETIME()" in queries["claim"] and "DATETIME2(7)" in queries["finish"]


def test_master_features_use_locks_and_output(queries: Queries) -> None:
    # Racing promoters and cleaners skip each other's rows.
    for name in ("claim_held", "purge_history", "purge_logs"):
        assert "UPDLOCK, READPAST, ROWLOCK" in queries[name], name
    # Insert-if-absent under a key-range lock: racing writers of one key are serialized.
    for name in ("hold_jobs", "insert_schedule"):
        assert "WITH (UPDLOCK, HOLDLOCK)" in queries[name] and "NOT EXISTS" in queries[name]
    for name in ("insert_slots", "register_agents", "acquire_leader"):
        assert f"MERGE {PREFIX}" in queries[name] and "WITH (HOLDLOCK)" in queries[name], name
    assert "WHEN MATCHED" not in queries["insert_slots"]  # an existing slot is left as it is
    # A cancelled held job moves to the history in the same statement.
    assert f"INTO {PREFIX}job (" in queries["cancel_held"]
    # Promotion and leader leases are fenced by token and expire by the server's clock.
    for name in ("finish_held", "release_held"):
        assert "h.promote_token = r.token" in queries[name], name
    for name in ("cancel_held", "reschedule_held"):
        assert "promote_until IS NULL OR" in queries[name], name
    for name in ("claim_held", "acquire_leader", "renew_leader", "retire_undeclared",
                 "purge_history", "next_due_in"):
        assert "SYSUTCDATETIME()" in queries[name] and "DATE" in queries[name], name
    assert "token = %(token)s" in queries["renew_leader"]
    for name in ("claim_held", "finish_held", "release_held", "cancel_held", "reschedule_held",
                 "hold_jobs", "update_schedule", "retire_undeclared", "insert_slots",
                 "delete_slots", "acquire_leader", "renew_leader", "release_leader"):
        assert re.search(r"\bOUTPUT (inserted|deleted|s)\.", queries[name]), name
    # Versioned update: the stored version fences concurrent writers.
    assert "WHERE id = %(id)s AND version = %(version)s" in queries["update_schedule"]
    assert "version = version + 1" in queries["update_schedule"]
    # Literal text filters: LIKE patterns escaped by the caller, binary comparison.
    assert queries["list_logs"].count("ESCAPE N'!'") == 2
    assert "COLLATE Latin1_General_BIN2" in queries["list_logs"]


@pytest.mark.parametrize("role", ["agent", "master"])
def test_migrations_render(role: str) -> None:
    migrations = load_migrations(PACKAGE, role)
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    for migration in migrations:
        statements = migration.statements(PREFIX)
        assert statements
        for statement in statements:
            code = _code(statement)
            assert _balanced(statement) and "{p}" not in statement and "%" not in code
            assert re.match(r"(IF OBJECT_ID|CREATE (UNIQUE )?(TABLE|INDEX))\b", code.strip()), (
                f"{migration.name}: one DDL statement per ';' ({statement[:60]})")
            for pattern, what in FOREIGN_SYNTAX:
                assert not re.search(pattern, code, re.IGNORECASE), f"{statement[:60]}: {what}"
    text = " ".join(migrations[0].statements(PREFIX))
    assert "DATETIME2(7)" in text and f"{PREFIX}schema_version" in text


def _created_tables(role: str) -> dict[str, str]:
    """Table name -> column definitions, over every migration of a role."""
    tables = {}
    for migration in load_migrations(PACKAGE, role):
        for statement in migration.statements(PREFIX):
            found = re.match(r"CREATE TABLE (\w+) \(", _code(statement).strip())
            if found:
                tables[found.group(1)] = statement
    return tables


def test_master_migration_creates_what_the_features_use() -> None:
    tables = _created_tables("master")
    for table, columns in {
        "held_job": ("promote_token", "promote_until", "promote_takes", "idempotency_key"),
        "schedule": (*SCHEDULE_COLUMNS, "created_at", "updated_at", "last_declared_at",
                     "version"),
        "schedule_slot": ("schedule_id", "slot_at", "job_id", "outcome", "created_at"),
        "leader": ("name", "owner", "token", "expires_at"),
        "log": ("at", "level", "logger", "message", "host", "pid"),
        "agent": ("name", "kind", "location", "first_seen", "last_seen"),
    }.items():
        definition = tables[PREFIX + table]
        for column in columns:
            assert re.search(rf"^\s+{column} ", definition, re.MULTILINE), (table, column)
    # Booleans are BIT, times DATETIME2(7): no other type would round-trip microseconds.
    assert re.search(r"allow_overlap BIT NOT NULL", tables[f"{PREFIX}schedule"])
    assert "PRIMARY KEY (schedule_id, slot_at)" in tables[f"{PREFIX}schedule_slot"]
    assert not re.search(r"\bDATETIME\b(?!2)", " ".join(tables.values()))
    statements = " ".join(m.sql for m in load_migrations(PACKAGE, "master"))
    assert "CREATE UNIQUE INDEX {p}held_job_idempotency" in statements
    assert "CREATE INDEX {p}job_finished ON {p}job (finished_at)" in statements


# -- call sites: every executed batch gets exactly the parameters it names ------------------
class FakeCursor:
    def __init__(self, log: list[tuple[str, dict[str, Any] | None]], canned: dict[str, Any]):
        self.log, self.canned = log, canned
        self.description: Any = None
        self.rowcount = 0
        self._rows: list[dict[str, Any]] = []

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self.log.append((sql, params))
        self._rows = next((rows for marker, rows in self.canned.items() if marker in sql), [])
        self.description = [("x",)] if self._rows or "SELECT" in sql or "OUTPUT" in sql else None

    def fetchall(self) -> list[dict[str, Any]]:
        return self._rows

    def nextset(self) -> bool:
        return False


class FakeConnection:
    def __init__(self, log: list[tuple[str, dict[str, Any] | None]], canned: dict[str, Any]):
        self.log, self.canned = log, canned

    def cursor(self) -> FakeCursor:
        return FakeCursor(self.log, self.canned)

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


@pytest.fixture
def canned() -> dict[str, Any]:
    """Rows the fake server returns for a batch containing the key (first match wins)."""
    return {
        "SYSUTCDATETIME() AS now": [{"now": datetime(2026, 1, 1)}],
        "AS synced": [{"synced": 0}],
        "AS found": [{"found": 1}],
        "FROM jmx_schema_version WHERE": [{"version": 1}],
        "FROM jmx_job WHERE id": [_job_row()],
        "FROM jmx_job\nWHERE (%(status)s": [_job_row()],
    }


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch,
             canned: dict[str, Any]) -> Iterator[list[tuple[str, Any]]]:
    log: list[tuple[str, dict[str, Any] | None]] = []
    monkeypatch.setattr(SqlServerStore, "connect", lambda self: FakeConnection(log, canned))
    yield log


def _job(key: str | None = None) -> NewJob:
    return NewJob(str(uuid.uuid4()), "d", "default", 3, None, "{}", "{}", 3, 1000, "{}",
                  idempotency_key=key)


def _event() -> JobEvent:
    now = datetime.now(UTC)
    attempt = Attempt(1, now, None, "w", AttemptOutcome.RUNNING)
    return JobEvent(1, str(uuid.uuid4()), 2, JobStatus.PROCESSING, "d", "default", 3, now, now,
                    "{}", "{}", 1, 3, 1000, None, None, TriggerSource.ONCE, None, None, "a",
                    attempt)


def _job_row() -> dict[str, Any]:
    now = datetime(2026, 1, 1)
    return {"id": str(uuid.uuid4()), "version": 1, "status": "queued", "definition_id": "d",
            "lane": "default", "priority": 3, "scheduled_at": now, "created_at": now,
            "msg_data": "{}", "metadata": "{}", "attempt_count": 0, "max_retries": 3,
            "timeout_ms": 1000, "idempotency_key": None, "schedule_id": None,
            "trigger_source": "once", "last_error": None, "finished_at": None, "agent": "a"}


async def test_call_sites_pass_exactly_the_named_parameters(
        executed: list[tuple[str, Any]]) -> None:
    spec = BackendSpec("sqlserver", "mssql://sa:pw@127.0.0.1:1433/jobs", PREFIX)
    agent = SqlServerAgent(spec, "standalone", colocated_master=True)
    master = SqlServerMaster(spec)
    await agent.open()
    await master.open()
    ref = LeaseRef(str(uuid.uuid4()), "t")
    now = datetime.now(UTC)
    done = AttemptResult(ref.job_id, "t", AttemptOutcome.FAILED, "w", now, now, error="e",
                         retry_delay=timedelta(seconds=1.5))
    await agent.enqueue([_job(), _job("k"), _job("k")])
    await agent.claim("w", lanes=None, definitions=["d"], limit=5, lease=timedelta(seconds=30))
    await agent.claim("w", lanes=["a"], definitions=["d"], limit=5, lease=timedelta(seconds=30))
    await agent.extend_leases("w", [ref], timedelta(seconds=30))
    await agent.finish([done])
    await agent.release([ref])
    await agent.cancel(ref.job_id)
    await agent.reschedule(ref.job_id, now)
    await agent.retry_now(ref.job_id)
    await agent.rescue_expired(limit=10, max_attempts_reason="x")
    await agent.get_job(ref.job_id)
    await agent.list_jobs(JobQuery(status=JobStatus.QUEUED, created_from=now))
    await agent.read_outbox(10)
    await agent.trim_outbox([10])
    await agent.queue_depth()
    await agent.sync_colocated(10)
    await agent.now()
    await agent.schema_state()
    await master.apply_events([_event(), replace(_event(), status=JobStatus.SUCCEEDED)])
    await master.get_job(ref.job_id)
    await master.get_attempts(ref.job_id)
    await master.list_jobs(JobQuery(lane="x"))
    await master.find_idempotent("k")
    await master.register_worker(WorkerRecord("w", "w", "h", 1, "a", ("default",), 1, now, now,
                                              "active"))
    await master.heartbeat_workers({"w": 1})
    await master.set_worker_status("w", "stopping")
    await master.list_workers()
    await agent.close()
    await master.close()
    assert _checked_calls(executed) >= set(EXPECTED_PARAMS) - MASTER_FEATURES - {
        "migration_lock", "migration_unlock", "set_schema_version", "find_pending_keys"}


def _checked_calls(executed: list[tuple[str, Any]]) -> set[str]:
    """The queries executed, each checked to get exactly its named parameters and no aware
    datetime (python-tds would send a DATETIMEOFFSET)."""
    by_text = {body + ";": name for name, body in Queries(PACKAGE, PREFIX)._sql.items()}
    seen = set()
    for sql, params in executed:
        name = by_text.get(sql)
        if name is None:
            continue  # session setup
        seen.add(name)
        assert set(params or {}) == EXPECTED_PARAMS[name], name
        assert all(not isinstance(v, datetime) or v.tzinfo is None
                   for v in (params or {}).values()), f"{name}: aware datetime parameter"
    return seen


#: The queries of held jobs, schedules, retention, logs, the agent registry and due times.
MASTER_FEATURES = {
    "next_due_in", "hold_jobs", "find_held_keys", "claim_held", "finish_held", "release_held",
    "cancel_held", "reschedule_held", "get_held", "list_held", "purge_history", "purge_logs",
    "write_logs", "list_logs", "register_agents", "list_agents", "insert_schedule",
    "get_schedule", "list_schedules", "update_schedule", "declare_static", "retire_undeclared",
    "insert_slots", "set_slot_outcome", "list_slots", "delete_slots", "trim_slots",
    "acquire_leader", "renew_leader", "release_leader",
}


def _held_row(**changes: Any) -> dict[str, Any]:
    now = datetime(2026, 1, 1)
    row = {"id": str(uuid.uuid4()), "definition_id": "d", "lane": "default", "priority": 3,
           "scheduled_at": now, "created_at": now, "msg_data": "{}", "metadata": "{}",
           "max_retries": 3, "timeout_ms": 1000, "backoff": "{}", "idempotency_key": None,
           "schedule_id": None, "trigger_source": "once", "promote_takes": 1}
    return {**row, **changes}


def _schedule(now: datetime) -> ScheduleRecord:
    return ScheduleRecord(str(uuid.uuid4()), ScheduleKind.STATIC, "d", "natural",
                          "every 1 minutes", "UTC", "{}", "{}", "default", 3, 2, 1000, "{}",
                          start_after=now, next_run_at=now, static_key="p:x", profile_id="p")


async def test_master_feature_call_sites_pass_exactly_the_named_parameters(
        executed: list[tuple[str, Any]], canned: dict[str, Any]) -> None:
    canned.update({"promote_takes + 1": [_held_row()], "AS purged": [{"purged": 0}],
                   "AS trimmed": [{"trimmed": 0}], "AS due_in_us": [{"due_in_us": None}]})
    spec = BackendSpec("sqlserver", "mssql://sa:pw@127.0.0.1:1433/jobs", PREFIX)
    agent, master = SqlServerAgent(spec, "standalone"), SqlServerMaster(spec)
    await agent.open()
    await master.open()
    now, ttl, job_id = datetime.now(UTC), timedelta(seconds=30), str(uuid.uuid4())
    await agent.next_due_in(["d"], None)
    await agent.next_due_in(["d"], ["a"])
    await master.hold_jobs([_job(), _job("k")])
    await master.claim_held("p", due_within=timedelta(minutes=10), limit=10, lease=ttl)
    await master.finish_held({job_id: "t"})
    await master.release_held({job_id: "t"})
    await master.cancel_held(job_id)
    await master.reschedule_held(job_id, now)
    await master.list_jobs(JobQuery(cursor=encode_cursor(now, job_id), created_to=now))
    del canned["FROM jmx_job WHERE id"]
    await master.get_job(job_id)  # not in the history: a held job?
    await master.purge_history(timedelta(days=30), limit=100)
    await master.register_agents([AgentRecord("a1", "postgres", "db:5432/jobs")])
    await master.list_agents()
    await master.write_logs([LogEntry(now, 20, "jobmaster.worker", "claimed", "h", 1)])
    await master.list_logs(LogQuery(min_level=20, logger_prefix="jobmaster", since=now,
                                    until=now, text="claimed"))
    schedule = _schedule(now)
    await master.insert_schedule(schedule)
    await master.get_schedule(schedule.id)
    await master.list_schedules(ScheduleQuery(status=ScheduleStatus.ACTIVE, after_id="a"))
    await master.update_schedule(schedule)
    await master.declare_static([schedule.id])
    await master.retire_undeclared(timedelta(minutes=5))
    await master.insert_slots([SlotRecord(schedule.id, now, job_id, SlotOutcome.PLANNED)])
    await master.set_slot_outcome(schedule.id, [now], SlotOutcome.ENQUEUED)
    await master.list_slots(schedule.id, after=now, outcome=SlotOutcome.PLANNED)
    await master.delete_slots(schedule.id, [now])
    await master.trim_slots(now)
    token = await master.acquire_leader("planner", "o", ttl)
    await master.renew_leader("planner", token or "t", ttl)
    await master.release_leader("planner", token or "t")
    await agent.close()
    await master.close()
    assert _checked_calls(executed) >= MASTER_FEATURES


# -- DSN and configuration --------------------------------------------------------------------
def test_dsn_parsing() -> None:
    dsn = parse_dsn("mssql://app:p%40ss@db.example:14330/jobs?login_timeout=3&timeout=20")
    assert (dsn.host, dsn.port, dsn.user, dsn.password, dsn.database) == (
        "db.example", 14330, "app", "p@ss", "jobs")
    kwargs = dsn.connect_kwargs()
    assert kwargs["dsn"] == "db.example" and kwargs["port"] == 14330
    assert kwargs["login_timeout"] == 3 and kwargs["timeout"] == 20
    assert kwargs["as_dict"] and not kwargs["autocommit"] and "cafile" not in kwargs
    assert dsn.location == "db.example:14330/jobs" and "p@ss" not in dsn.location
    default = parse_dsn("sqlserver://sa@localhost/master")
    assert default.port == 1433 and default.encrypt == "off"


def test_dsn_named_instance_and_tls(tmp_path: Any) -> None:
    named = parse_dsn("mssql://sa@host/db?instance=SQLEXPRESS")
    assert named.port is None and named.connect_kwargs()["dsn"] == "host\\SQLEXPRESS"
    assert named.location == "host\\SQLEXPRESS/db"
    ca = tmp_path / "ca.pem"
    tls = parse_dsn(f"mssql://sa@host/db?encrypt=true&ca_file={ca}&validate_host=false")
    kwargs = tls.connect_kwargs()
    assert kwargs["cafile"] == str(ca) and kwargs["validate_host"] is False
    assert kwargs["enc_login_only"] is False
    assert parse_dsn(f"mssql://sa@h/db?encrypt=login&ca_file={ca}").connect_kwargs()[
        "enc_login_only"]


@pytest.mark.parametrize(("dsn", "setting"), [
    ("mysql://sa@h/db", "sqlserver dsn"),
    ("mssql://sa@h/db?encrypt=maybe", "sqlserver dsn option 'encrypt'"),
    ("mssql://sa@h/db?trustServerCertificate=yes", "sqlserver dsn option 'trustServerCertificate'"),
    ("mssql://sa@h/db?timeout=0", "sqlserver dsn option 'timeout'"),
])
def test_bad_dsn_names_the_setting(dsn: str, setting: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_dsn(dsn)
    assert info.value.setting == setting


def test_builders_and_factory() -> None:
    config = ClusterConfig.standalone("c").use_sqlserver("mssql://sa@h/db", table_prefix="x_")
    assert config.master is not None and config.master.kind == "sqlserver"
    assert config.master.table_prefix == "x_"
    distributed = (ClusterConfig("c").use_sqlserver_for_master("mssql://sa@h/m")
                   .add_agent_connection("a1").use_sqlserver_for_agent("mssql://sa@h/a"))
    distributed.validate()
    agent_spec = distributed.agents["a1"].backend
    assert agent_spec is not None and agent_spec.kind == "sqlserver"
    assert isinstance(make_agent(agent_spec, "a1", role="leases"), SqlServerAgent)
    master = make_master(distributed.master)  # type: ignore[arg-type]
    assert isinstance(master, SqlServerMaster) and master.location == "h:1433/m"
    assert not master.capabilities.listen_notify and master.capabilities.skip_locked


async def test_refused_port_is_backend_unavailable() -> None:
    store = make_master(BackendSpec("sqlserver", "mssql://sa:pw@127.0.0.1:1/jobs?login_timeout=2"))
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError) as info:
        await store.open()
    assert time.monotonic() - started < 10
    assert "127.0.0.1:1/jobs" in str(info.value) and "\n" not in str(info.value)
    assert "pw" not in str(info.value)
    await store.close()
