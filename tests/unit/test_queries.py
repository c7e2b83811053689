"""The named-query files and migrations of every SQL dialect."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

import pytest

from jobmaster.backends.sql import Queries, load_migrations, load_queries, required_version


def _dialects() -> list[str]:
    """Every backend package that ships a queries.sql (new dialects are picked up here)."""
    backends = resources.files("jobmaster.backends")
    return sorted(
        f"jobmaster.backends.{entry.name}"
        for entry in backends.iterdir()
        if entry.is_dir() and entry.joinpath("queries.sql").is_file()
    )


DIALECTS = _dialects()
POSTGRES, SQLITE = "jobmaster.backends.postgres", "jobmaster.backends.sqlite"
ROLES = ["master", "agent"]

#: The queries every SQL dialect must define (the core operations of the role contracts).
CORE = {
    "schema_version",
    "set_schema_version",
    "schema_table_exists",
    "enqueue",
    "find_pending_keys",
    "claim",
    "extend_leases",
    "reschedule",
    "cancel_running",
    "rescue_expired",
    "get_live_job",
    "read_outbox",
    "trim_outbox",
    "queue_depth",
    "sync_colocated",
    "apply_jobs",
    "apply_attempts",
    "get_job",
    "get_attempts",
    "list_jobs",
    "find_idempotent",
    "register_worker",
    "heartbeat_workers",
    "set_worker_status",
    "list_workers",
}
_NAME_LINE = re.compile(r"^--\s*name:\s*(\S+)\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
#: Slots a backend fills at run time (sqlite list_jobs builds its WHERE clause from filters).
TEMPLATE_SLOTS = {"{where}"}


def unfilled(sql: str) -> set[str]:
    return set(_PLACEHOLDER.findall(sql)) - TEMPLATE_SLOTS


def raw_text(package: str) -> str:
    return resources.files(package).joinpath("queries.sql").read_text(encoding="utf-8")


@pytest.mark.parametrize("package", DIALECTS)
def test_queries_parse_with_unique_names(package: str) -> None:
    queries = load_queries(package)
    declared = _NAME_LINE.findall(raw_text(package))
    assert len(declared) == len(set(declared)), "duplicate query names"
    assert sorted(declared) == sorted(queries)
    for name, body in queries.items():
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), name
        assert body and not body.startswith("--"), f"{package}: query {name!r} is empty"


@pytest.mark.parametrize("package", DIALECTS)
def test_every_placeholder_renders(package: str) -> None:
    queries = Queries(package, "acme_")
    for name in queries.names():
        sql = queries[name]
        assert "{p}" not in sql and not unfilled(sql), f"{name}: {sql[:80]}"
    uses_prefix = [name for name in queries.names() if "acme_" in queries[name]]
    assert len(uses_prefix) >= len(queries.names()) // 2


@pytest.mark.parametrize("package", DIALECTS)
def test_bad_prefix_is_refused(package: str) -> None:
    with pytest.raises(ValueError, match="table_prefix"):
        Queries(package, "jm; DROP TABLE x; --")


@pytest.mark.parametrize("package", DIALECTS)
def test_core_queries_are_defined(package: str) -> None:
    assert set(load_queries(package)) >= CORE


def test_dialects_are_discovered() -> None:
    assert {POSTGRES, SQLITE} <= set(DIALECTS)


def test_core_queries_shared_by_postgres_and_sqlite() -> None:
    shared = set(load_queries(POSTGRES)) & set(load_queries(SQLITE))
    assert shared >= CORE, sorted(CORE - shared)


@pytest.mark.xfail(
    strict=True,
    reason="DESIGN §2 says every dialect defines the same query "
    "names; postgres has finish/release/cancel_queued/notify/now/migration_lock, "
    "sqlite has requeue/delete_job/held_rows/claim_update/... instead",
)
def test_dialects_define_the_same_query_names() -> None:
    names = {package: set(load_queries(package)) for package in DIALECTS}
    assert all(found == names[POSTGRES] for found in names.values())


@pytest.mark.parametrize("package", DIALECTS)
@pytest.mark.parametrize("role", ROLES)
def test_migrations_load_in_version_order(package: str, role: str) -> None:
    migrations = load_migrations(package, role)
    assert migrations, f"{package} has no {role} migration"
    versions = [m.version for m in migrations]
    assert versions == list(range(1, len(versions) + 1)), "versions must be 1, 2, 3, ..."
    assert all(m.role == role for m in migrations)
    assert required_version(package, role) == versions[-1]
    for migration in migrations:
        statements = migration.statements("acme_")
        assert statements, f"{migration.name} has no statement"
        for statement in statements:
            assert "{p}" not in statement and not _PLACEHOLDER.search(statement)


@pytest.mark.parametrize("package", DIALECTS)
def test_migration_files_are_all_recognised(package: str) -> None:
    folder = resources.files(package).joinpath("migrations")
    files = sorted(e.name for e in folder.iterdir() if e.name.endswith(".sql"))
    loaded = sorted(
        f"{m.version:04d}_{m.role}_{m.name}.sql"
        for role in ROLES
        for m in load_migrations(package, role)
    )
    assert files == loaded


def _sqlite_schema() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    for role in ROLES:
        for migration in load_migrations(SQLITE, role):
            for statement in migration.statements("jm_"):
                connection.execute(statement)
    return connection


def test_sqlite_queries_compile_against_the_migrated_schema() -> None:
    """Each query is prepared by SQLite (syntax, tables and columns checked); only the
    missing parameter values are expected to fail."""
    connection = _sqlite_schema()
    queries = Queries(SQLITE, "jm_")
    if "create_schema_version" in queries.names():
        connection.execute(queries["create_schema_version"])
    for name in sorted(queries.names()):
        sql = queries[name].replace("{where}", "1 = 1")
        named = re.search(r"[^:]:[a-z_]", sql)
        params: dict[str, object] | tuple[object, ...] = {} if named else ()
        try:
            connection.execute(f"EXPLAIN {sql}", params)
        except sqlite3.ProgrammingError as exc:
            assert "bind" in str(exc).lower() or "supplied" in str(exc).lower(), (name, exc)
        except sqlite3.OperationalError as exc:  # pragma: no cover - the failure message
            pytest.fail(f"sqlite query {name!r} does not compile: {exc}")
    connection.close()
