"""One SQLite connection owned by one dedicated thread, and the lifecycle shared by both roles.

Every contract call is one hop to that thread, running one transaction (``BEGIN IMMEDIATE`` for
writes, so writers in several processes are serialized) that is retried with a short backoff when
the database stays locked beyond ``busy_timeout``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from ...abc import Capabilities, SchemaState
from ...errors import BackendUnavailableError, SchemaError
from ..sql import Queries, load_migrations, required_version

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]

PACKAGE = "jobmaster.backends.sqlite"
BUSY_TIMEOUT = 10.0
_LOCK_RETRIES = 6

SQLITE_CAPABILITIES = Capabilities(
    name="sqlite",
    listen_notify=False,
    skip_locked=False,
    delayed_delivery=True,
    colocated_sync=False,
    multi_process=True,
    held_jobs=True,
    purge_history=True,
    log_store=True,
    agent_registry=True,
    recurring_schedules=True,
    time_precision=timedelta(microseconds=1),
    transient_errors=(ConnectionError, OSError, sqlite3.OperationalError),
)


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Database:
    """A connection to the SQLite file ``path``, used only from its own single thread.

    ``role`` ("agent" or "master") names the store in error messages.
    """

    def __init__(self, path: str, role: str) -> None:
        self.path = path
        self.role = role
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        if self._executor is not None:
            return
        executor = ThreadPoolExecutor(1, thread_name_prefix=f"jobmaster-sqlite-{self.role}")
        try:
            conn = await asyncio.get_running_loop().run_in_executor(executor, self._connect)
        except (sqlite3.Error, OSError) as exc:
            executor.shutdown(wait=False)
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise BackendUnavailableError(self.role, self.path, reason) from None
        self._conn, self._executor = conn, executor

    def _connect(self) -> sqlite3.Connection:
        parent = Path(self.path).absolute().parent
        if not parent.is_dir():
            raise FileNotFoundError(f"directory {parent} does not exist")
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        executor, conn = self._executor, self._conn
        self._executor = self._conn = None
        if executor is None:
            return
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=False)

    async def write(self, work: Work[T]) -> T:
        return await self._hop(work, "BEGIN IMMEDIATE")

    async def read(self, work: Work[T]) -> T:
        return await self._hop(work, "BEGIN")

    async def _hop(self, work: Work[T], begin: str) -> T:
        executor, conn = self._executor, self._conn
        if executor is None or conn is None:
            raise BackendUnavailableError(self.role, self.path, "the store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            executor, self._retry, lambda: self._transaction(conn, work, begin))

    @staticmethod
    def _transaction(conn: sqlite3.Connection, work: Work[T], begin: str) -> T:
        conn.execute(begin)
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    @staticmethod
    def _retry(call: Callable[[], T]) -> T:
        for attempt in range(_LOCK_RETRIES):
            try:
                return call()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
                time.sleep(0.005 * 2**attempt)
        raise AssertionError("unreachable")


class SqliteStore:
    """Lifecycle and schema management of a store on the SQLite file ``path``; table names
    start with ``prefix``; ``role`` is "agent" or "master"."""

    capabilities = SQLITE_CAPABILITIES

    def __init__(self, path: str, prefix: str, role: str) -> None:
        self.location = path
        self._role = role
        self._prefix = prefix
        self._q = Queries(PACKAGE, prefix)
        self._db = Database(path, role)

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def now(self) -> datetime:
        return datetime.fromtimestamp(time.time(), UTC)

    async def schema_state(self) -> SchemaState:
        current = await self._db.read(self._current_version)
        return SchemaState(current, required_version(PACKAGE, self._role))

    async def migrate(self) -> list[int]:
        applied: list[int] = []
        while (version := await self._db.write(self._migrate_next)) is not None:
            applied.append(version)
        return applied

    def _current_version(self, conn: sqlite3.Connection) -> int:
        if conn.execute(self._q["schema_table_exists"]).fetchone() is None:
            return 0
        row = conn.execute(self._q["schema_version"], (self._role,)).fetchone()
        return 0 if row is None else int(row[0])

    def _migrate_next(self, conn: sqlite3.Connection) -> int | None:
        conn.execute(self._q["create_schema_version"])
        current = self._current_version(conn)
        required = required_version(PACKAGE, self._role)
        if current > required:
            raise SchemaError(
                f"the {self._role} schema at {self.location} is version {current}, newer than "
                f"this code supports ({required}); upgrade jobmaster")
        pending = [m for m in load_migrations(PACKAGE, self._role) if m.version > current]
        if not pending:
            return None
        migration = pending[0]
        for statement in migration.statements(self._prefix):
            conn.execute(statement)
        conn.execute(self._q["set_schema_version"], (self._role, migration.version))
        return migration.version
