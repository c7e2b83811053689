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

from jobmaster.backends.factory import make_agent, make_master
from jobmaster.backends.sql import Queries, load_migrations, load_queries
from jobmaster.backends.sqlserver import SqlServerAgent, SqlServerMaster, parse_dsn
from jobmaster.backends.sqlserver.connection import SqlServerStore
from jobmaster.config import BackendSpec, ClusterConfig
from jobmaster.errors import BackendUnavailableError, ConfigurationError
from jobmaster.model import (
    Attempt,
    AttemptOutcome,
    AttemptResult,
    JobEvent,
    JobQuery,
    JobStatus,
    LeaseRef,
    NewJob,
    TriggerSource,
    WorkerRecord,
)

PACKAGE = "jobmaster.backends.sqlserver"
PREFIX = "jmx_"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")

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
]


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
    # PostgreSQL's query names less ``notify`` (SQL Server cannot notify), plus
    # ``migration_unlock`` (the migration lock is session-owned and released by name).
    assert set(load_queries(PACKAGE)) == set(EXPECTED_PARAMS)


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
        assert table.startswith(PREFIX) or table in {"OPENJSON", "oldest", "picked", "j", "w",
                                                    "information_schema"}, (name, table)


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


@pytest.mark.parametrize("role", ["agent", "master"])
def test_migrations_render(role: str) -> None:
    [migration] = load_migrations(PACKAGE, role)
    statements = migration.statements(PREFIX)
    assert statements
    for statement in statements:
        code = _code(statement)
        assert _balanced(statement) and "{p}" not in statement and "%" not in code
        for pattern, what in FOREIGN_SYNTAX:
            assert not re.search(pattern, code, re.IGNORECASE), f"{statement[:60]}: {what}"
    text = " ".join(statements)
    assert "DATETIME2(7)" in text and f"{PREFIX}schema_version" in text


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
def executed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    log: list[tuple[str, dict[str, Any] | None]] = []
    canned: dict[str, Any] = {
        "SYSUTCDATETIME() AS now": [{"now": datetime(2026, 1, 1)}],
        "AS synced": [{"synced": 0}],
        "AS found": [{"found": 1}],
        "FROM jmx_schema_version WHERE": [{"version": 1}],
        "FROM jmx_job WHERE id": [_job_row()],
        "FROM jmx_job\nWHERE (%(status)s": [_job_row()],
    }
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
    assert seen >= set(EXPECTED_PARAMS) - {"migration_lock", "migration_unlock",
                                            "set_schema_version", "find_pending_keys"}


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
