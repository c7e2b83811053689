"""MySQL/MariaDB backend: DSN parsing (no server), errors at open, and a standalone app run."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

import jobmaster as jm
from jobmaster.backends.factory import make_agent, make_master
from jobmaster.backends.mysql import parse_dsn
from jobmaster.backends.mysql.connection import check_version
from jobmaster.backends.sql import load_queries
from jobmaster.config import BackendSpec, ClusterConfig
from jobmaster.errors import BackendUnavailableError, ConfigurationError, SchemaError
from jobmaster.model import JobStatus


def test_full_tcp_dsn() -> None:
    dsn = parse_dsn("mysql://app:s%40cret@db.example:3307/jobs?connect_timeout=2.5")
    assert (dsn.host, dsn.port, dsn.user, dsn.password, dsn.database) == (
        "db.example", 3307, "app", "s@cret", "jobs")
    assert dsn.connect_timeout == 2.5
    assert dsn.location == "db.example:3307/jobs"
    kwargs = dsn.connect_kwargs()
    assert kwargs["host"] == "db.example" and kwargs["port"] == 3307
    assert kwargs["charset"] == "utf8mb4" and "ssl" not in kwargs
    assert "s@cret" not in dsn.location


def test_defaults_and_mariadb_scheme() -> None:
    dsn = parse_dsn("mariadb://localhost/test")
    assert (dsn.host, dsn.port, dsn.user, dsn.password) == ("localhost", 3306, "root", "")
    assert dsn.ssl_mode == "disabled" and dsn.ssl_context() is None


@pytest.mark.parametrize("dsn", [
    "mysql://root@localhost/test?unix_socket=/run/mysqld/mysqld.sock",
    "mysql://root@%2Frun%2Fmysqld%2Fmysqld.sock/test",
])
def test_unix_socket(dsn: str) -> None:
    parsed = parse_dsn(dsn)
    assert parsed.unix_socket == "/run/mysqld/mysqld.sock"
    assert parsed.database == "test"
    kwargs = parsed.connect_kwargs()
    assert kwargs["unix_socket"] == "/run/mysqld/mysqld.sock" and "host" not in kwargs
    assert parsed.location == "unix:/run/mysqld/mysqld.sock/test"


def test_ssl_modes() -> None:
    required = parse_dsn("mysql://u@h/db?ssl_mode=required").ssl_context()
    assert required is not None and required.verify_mode is ssl.CERT_NONE
    assert not required.check_hostname
    identity = parse_dsn("mysql://u@h/db?ssl=true").ssl_context()
    assert identity is not None and identity.check_hostname
    assert identity.verify_mode is ssl.CERT_REQUIRED
    assert parse_dsn("mysql://u@h/db?ssl=false").ssl_context() is None
    kwargs = parse_dsn("mysql://u@h/db?ssl_mode=verify_identity").connect_kwargs()
    assert isinstance(kwargs["ssl"], ssl.SSLContext)


def test_ssl_ca_file_means_verify_ca(tmp_path: Path) -> None:
    dsn = parse_dsn(f"mysql://u@h/db?ssl_ca={tmp_path}/ca.pem")
    assert dsn.ssl_mode == "verify_ca" and dsn.ssl_ca == f"{tmp_path}/ca.pem"
    with pytest.raises(FileNotFoundError):
        dsn.ssl_context()  # the CA file is read when connecting, not when parsing


@pytest.mark.parametrize(("dsn", "setting"), [
    ("postgresql://u@h/db", "mysql dsn"),
    ("mysql://u@h/db?sslmode=require", "mysql dsn option 'sslmode'"),
    ("mysql://u@h/db?ssl_mode=maybe", "mysql dsn option 'ssl_mode'"),
    ("mysql://u@h/db?connect_timeout=-1", "mysql dsn option 'connect_timeout'"),
    ("mysql://u@h:notaport/db", "mysql dsn"),
])
def test_bad_dsn_names_the_setting(dsn: str, setting: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_dsn(dsn)
    assert info.value.setting == setting


def test_server_versions() -> None:
    check_version("10.11.19-MariaDB-0+deb12u1")
    check_version("8.0.36")
    check_version("11.4.2-MariaDB")
    with pytest.raises(SchemaError, match=r"10\.6"):
        check_version("10.5.23-MariaDB")
    with pytest.raises(SchemaError, match=r"MySQL >= 8\.0"):
        check_version("5.7.44")


#: The operations every SQL dialect names alike (PostgreSQL's query names, less ``notify``).
SHARED_NAMES = {
    "schema_version", "schema_table_exists", "set_schema_version", "migration_lock", "now",
    "enqueue", "find_pending_keys", "claim", "extend_leases", "finish", "release",
    "cancel_queued", "cancel_running", "reschedule", "rescue_expired", "get_live_job",
    "read_outbox", "trim_outbox", "queue_depth", "sync_colocated", "apply_jobs",
    "apply_attempts", "get_job", "get_attempts", "list_jobs", "find_idempotent",
    "register_worker", "heartbeat_workers", "set_worker_status", "list_workers",
    "list_live_jobs", "get_pending_final", "list_attempts", "next_due_in", "claim_lane",
}

#: The master's held jobs, schedules, retention, logs and agents, named as in PostgreSQL.
MASTER_PARITY_NAMES = {
    "hold_jobs", "find_held_keys", "claim_held", "finish_held", "release_held", "cancel_held",
    "reschedule_held", "get_held", "list_held", "purge_history", "purge_logs", "write_logs",
    "list_logs", "register_agents", "list_agents", "insert_schedule", "get_schedule",
    "list_schedules", "update_schedule", "declare_static", "retire_undeclared", "insert_slots",
    "set_slot_outcome", "list_slots", "delete_slots", "trim_slots", "renew_leader",
    "release_leader",
}


def test_queries_share_postgres_names() -> None:
    mysql = set(load_queries("jobmaster.backends.mysql"))
    postgres = set(load_queries("jobmaster.backends.postgres"))
    assert mysql >= SHARED_NAMES | MASTER_PARITY_NAMES
    assert postgres >= SHARED_NAMES | MASTER_PARITY_NAMES
    # MySQL has no UPDATE ... RETURNING: some operations are several statements in one
    # transaction, each named after its step (as in SQLite where SQLite has the step).
    assert mysql - SHARED_NAMES - MASTER_PARITY_NAMES == {
        "migration_unlock", "claim_update", "lock_leases", "renewed_leases",
        "finish_delete", "finish_retry", "delete_jobs", "lock_job", "rescue_events", "rescue_fail",
        "rescue_requeue", "sync_colocated_lock", "sync_colocated_attempts",
        "sync_colocated_trim", "find_held_ids", "take_held", "lock_free_held", "delete_held",
        "purge_old_ids", "purge_attempts", "lock_undeclared", "created_slots", "lock_leader",
        "insert_leader", "set_leader", "claim_lock", "finish_colocated",
        "finish_colocated_attempts",
    }


async def test_unreachable_server_is_one_line_error() -> None:
    store = make_master(BackendSpec("mysql", "mysql://root@127.0.0.1:1/nowhere"))
    with pytest.raises(BackendUnavailableError) as info:
        await store.open()
    message = str(info.value)
    assert "127.0.0.1:1/nowhere" in message and "\n" not in message
    assert info.value.role == "master"


def test_factory_knows_mysql() -> None:
    agent = make_agent(BackendSpec("mysql", "mysql://root@h/db"), "a1", role="leases")
    assert agent.capabilities.name == "mysql" and not agent.capabilities.listen_notify
    assert agent.capabilities.skip_locked


SEEN: list[int] = []


@jm.job_handler(definition_id="tests.mysql.double")
async def double(job: jm.JobContext) -> None:
    """Records twice its input."""
    SEEN.append(job.msg_data.get_int("n") * 2)


async def test_standalone_app_runs_a_job(mysql_database: str) -> None:
    config = (ClusterConfig.standalone("mysql-unit", sync_interval=timedelta(milliseconds=50))
              .use_mysql(mysql_database, table_prefix=f"u{uuid.uuid4().hex[:6]}_")
              .add_worker(concurrency=2, poll_interval=timedelta(milliseconds=50)))
    app = jm.JobMaster(config, handlers=[double])
    await app.start()
    try:
        receipt = await app.scheduler.once_now(double, {"n": 21})
        for _ in range(200):
            info = await app.get_job(receipt.id)
            if info is not None and info.status is JobStatus.SUCCEEDED:
                break
            await asyncio.sleep(0.05)
        assert info is not None and info.status is JobStatus.SUCCEEDED
        assert [a.number for a in info.attempts] == [1]
        assert SEEN == [42]
    finally:
        await app.stop()
