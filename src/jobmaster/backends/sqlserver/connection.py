"""Connecting to SQL Server with python-tds: a small pool of connections served by worker
threads (the driver is synchronous), transactions, schema state and migrations."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytds  # type: ignore[import-untyped]

from ...abc import Capabilities, SchemaState
from ...config import BackendSpec
from ...errors import SchemaError
from .._sqlcommon.rows import aware
from .._sqlcommon.store import TRANSACTION_RETRIES, SqlStore, retry_pause
from .dsn import SqlServerDsn, parse_dsn

T = TypeVar("T")
Row = dict[str, Any]

PACKAGE = "jobmaster.backends.sqlserver"

#: Deadlock victim, lock request timeout, and duplicate key (a concurrent insert of the same
#: idempotency key): the whole transaction is retried.
RETRY_CODES = frozenset({1205, 1222, 2601, 2627})

#: Run once per connection: abort the whole transaction on any error (no half-applied batch),
#: bounded lock waits, and the SET options filtered indexes require.
SESSION_SETUP = "SET XACT_ABORT ON; SET LOCK_TIMEOUT 10000; SET ARITHABORT ON; SET NOCOUNT OFF"

SQLSERVER_CAPABILITIES = Capabilities(
    name="sqlserver",
    listen_notify=False,
    skip_locked=True,
    delayed_delivery=True,
    colocated_sync=False,
    multi_process=True,
    held_jobs=True,
    purge_history=True,
    log_store=True,
    agent_registry=True,
    recurring_schedules=True,
    time_precision=timedelta(microseconds=1),
    transient_errors=(OSError, pytds.OperationalError, pytds.InterfaceError),
)

POOL_SIZES = {"agent": 8, "master": 4, "leases": 1}


def error_code(exc: BaseException) -> int:
    """The server's error number of a python-tds error (0 when there is none)."""
    code = getattr(exc, "msg_no", 0)
    return code if isinstance(code, int) else 0


def all_rows(cursor: Any) -> list[Row]:
    """Every row of every result set a batch produced (OUTPUT clauses each make one)."""
    rows: list[Row] = []
    while True:
        if cursor.description:
            rows.extend(cursor.fetchall())
        if not cursor.nextset():
            return rows


class ConnectionPool:
    """Up to ``size`` python-tds connections, each used by one thread at a time."""

    def __init__(self, connect: Callable[[], Any], size: int) -> None:
        self._connect = connect
        self._idle: list[Any] = []
        self._slots = asyncio.Semaphore(size)
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="jobmaster-sqlserver")

    async def run(self, work: Callable[[Any], T]) -> T:
        """Run ``work(connection)`` on a worker thread; a connection that failed is dropped."""
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            loop = asyncio.get_running_loop()
            try:
                if conn is None:
                    conn = await loop.run_in_executor(self._executor, self._connect)
                result = await loop.run_in_executor(self._executor, work, conn)
            except (OSError, pytds.InterfaceError, pytds.OperationalError):
                if conn is not None:
                    await loop.run_in_executor(self._executor, _close_quietly, conn)
                raise
            self._idle.append(conn)
            return result

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        loop = asyncio.get_running_loop()
        for conn in idle:
            await loop.run_in_executor(self._executor, _close_quietly, conn)
        self._executor.shutdown(wait=False)


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:
        pass


class SqlServerStore(SqlStore):
    """Pool management, transactions and schema handling shared by the agent and the master."""

    package = PACKAGE

    def __init__(self, spec: BackendSpec, *, pool_role: str) -> None:
        self.dsn: SqlServerDsn = parse_dsn(spec.target)
        super().__init__(spec, self.dsn.location)
        self._pool_size = POOL_SIZES[pool_role]
        self._pool: ConnectionPool | None = None

    def sql(self, name: str) -> str:
        """A named query ready to run. The query loader strips the final ';', which T-SQL
        requires after MERGE, so it is put back (harmless after any other statement)."""
        return self.q[name] + ";"

    def connect(self) -> Any:
        """One new python-tds connection with the session settings applied (blocking)."""
        conn = pytds.connect(**self.dsn.connect_kwargs())
        with conn.cursor() as cur:
            cur.execute(SESSION_SETUP)
        conn.commit()
        return conn

    async def open(self) -> None:
        if self._pool is not None:
            return
        pool = ConnectionPool(self.connect, self._pool_size)
        try:
            await asyncio.wait_for(pool.run(lambda conn: None), timeout=self.dsn.login_timeout + 5)
        except (OSError, pytds.Error, TimeoutError, ValueError) as exc:
            await pool.close()
            raise self.unavailable(exc) from None
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def transaction(self, work: Callable[[Any], T]) -> T:
        """Run ``work(cursor)`` on a worker thread in one transaction, retried on deadlocks."""
        if self._pool is None:
            raise self.not_open()
        return await self._pool.run(lambda conn: _with_retries(conn, work))

    async def rows(self, name: str, params: dict[str, Any] | None = None) -> list[Row]:
        """All rows one named query returns (its own transaction)."""
        sql = self.sql(name)
        return await self.transaction(lambda cur: run(cur, sql, params))

    async def now(self) -> datetime:
        [row] = await self.rows("now")
        return aware(row["now"])

    async def schema_state(self) -> SchemaState:
        return self.schema_state_at(await self.transaction(self._current_version))

    def _current_version(self, cur: Any) -> int:
        [found] = run(cur, self.sql("schema_table_exists"),
                      {"table": f"{self.prefix}schema_version"})
        if not found["found"]:
            return 0
        rows = run(cur, self.sql("schema_version"), {"role": self.role})
        return int(rows[0]["version"]) if rows else 0

    async def migrate(self) -> list[int]:
        """Serialized by a session-owned ``sp_getapplock``; each file is one transaction."""
        if self._pool is None:
            raise self.not_open()
        return await self._pool.run(self._migrate)

    def _migrate(self, conn: Any) -> list[int]:
        lock = {"name": f"jobmaster:{self.prefix}"}
        applied: list[int] = []
        with conn.cursor() as cur:
            [got] = run(cur, self.sql("migration_lock"), lock)
            conn.commit()
            if got["locked"] < 0:
                raise SchemaError(f"timed out waiting for the migration lock at {self.location}")
            try:
                current = self._current_version(cur)
                for migration in self.pending_migrations(current):
                    for statement in migration.statements(self.prefix):
                        cur.execute(statement)
                    run(cur, self.sql("set_schema_version"),
                        {"role": self.role, "version": migration.version})
                    conn.commit()
                    applied.append(migration.version)
            except BaseException:
                conn.rollback()
                raise
            finally:
                run(cur, self.sql("migration_unlock"), lock)
                conn.commit()
        return applied

    def id_list(self, ids: Collection[str]) -> object:
        """Ids as a JSON array (the queries read it with ``OPENJSON``)."""
        return json.dumps(list(ids))


def run(cursor: Any, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
    """Execute one batch and collect every row it returns."""
    cursor.execute(sql, params)
    return all_rows(cursor)


def _with_retries(conn: Any, work: Callable[[Any], T]) -> T:
    for attempt in range(TRANSACTION_RETRIES):
        try:
            with conn.cursor() as cur:
                result = work(cur)
            conn.commit()
            return result
        except pytds.Error as exc:
            conn.rollback()
            if error_code(exc) not in RETRY_CODES or attempt == TRANSACTION_RETRIES - 1:
                raise
        except BaseException:
            conn.rollback()
            raise
        time.sleep(retry_pause(attempt))
    raise AssertionError("unreachable")
