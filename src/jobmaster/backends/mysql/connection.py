"""Connecting to MySQL/MariaDB with asyncmy: version probe, pool, transactions, migrations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Any, TypeVar

import asyncmy
from asyncmy.cursors import DictCursor

from ...abc import Capabilities, SchemaState
from ...config import BackendSpec
from ...errors import SchemaError
from .._sqlcommon.rows import aware
from .._sqlcommon.store import TRANSACTION_RETRIES, SqlStore, retry_pause
from .dsn import MysqlDsn, parse_dsn

T = TypeVar("T")
Cursor = DictCursor
Work = Callable[[DictCursor], Awaitable[T]]

PACKAGE = "jobmaster.backends.mysql"

#: Errors after which the whole transaction is retried: deadlock, lock wait timeout, and a
#: duplicate key raised by a concurrent insert of the same idempotency key.
RETRY_CODES = frozenset({1213, 1205, 1062})

MYSQL_CAPABILITIES = Capabilities(
    name="mysql",
    listen_notify=False,
    skip_locked=True,
    delayed_delivery=True,
    colocated_sync=False,
    multi_process=True,
    time_precision=timedelta(microseconds=1),
    transient_errors=(OSError, asyncmy.errors.OperationalError, asyncmy.errors.InterfaceError),
)

POOL_SIZES = {"agent": (1, 10), "master": (1, 6), "leases": (1, 1)}


def error_code(exc: BaseException) -> int:
    """The server error number of an asyncmy error (0 when there is none)."""
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0


def _session_setup(version: str) -> str:
    """One statement run on every new connection: UTC session, READ COMMITTED (fewer gap locks
    under SKIP LOCKED), a bounded lock wait, and on MariaDB an idle-transaction timeout so a
    hung client cannot hold row locks (faults.md F11)."""
    mariadb = "mariadb" in version.lower()
    isolation = "tx_isolation" if mariadb and _numeric(version) < (11, 1) else "transaction_isolation"
    settings = ["time_zone = '+00:00'", f"{isolation} = 'READ-COMMITTED'",
                "innodb_lock_wait_timeout = 10", "sql_notes = 0"]
    if mariadb:
        settings.append("idle_transaction_timeout = 30")
    return "SET SESSION " + ", SESSION ".join(settings)


def _numeric(version: str) -> tuple[int, int]:
    parts = [int(p) if p.isdigit() else 0 for p in version.split("-")[0].split(".")]
    parts += [0, 0]
    return parts[0], parts[1]


def check_version(version: str) -> None:
    """SKIP LOCKED and JSON_TABLE need MariaDB >= 10.6 or MySQL >= 8.0."""
    needed = (10, 6) if "mariadb" in version.lower() else (8, 0)
    if _numeric(version) < needed:
        raise SchemaError(f"server version {version} is too old: jobmaster needs MariaDB >= 10.6 "
                          "or MySQL >= 8.0 (FOR UPDATE SKIP LOCKED, JSON_TABLE)")


class MysqlStore(SqlStore):
    """Pool management, transactions and schema handling shared by the agent and the master."""

    package = PACKAGE

    def __init__(self, spec: BackendSpec, *, pool_role: str) -> None:
        self.dsn: MysqlDsn = parse_dsn(spec.target)
        super().__init__(spec, self.dsn.location)
        self._pool_role = pool_role
        self._pool: Any = None

    async def open(self) -> None:
        if self._pool is not None:
            return
        minsize, maxsize = POOL_SIZES[self._pool_role]
        kwargs = self.dsn.connect_kwargs()
        try:
            probe = await asyncio.wait_for(asyncmy.connect(**kwargs), timeout=15)
            try:
                async with probe.cursor() as cur:
                    await cur.execute("SELECT VERSION()")
                    (version,) = await cur.fetchone()
            finally:
                await probe.ensure_closed()
            check_version(str(version))
            self._pool = await asyncmy.create_pool(
                minsize=minsize, maxsize=maxsize, pool_recycle=3600, autocommit=True,
                cursor_cls=DictCursor, init_command=_session_setup(str(version)), **kwargs)
        except (OSError, asyncmy.errors.Error, TimeoutError) as exc:
            raise self.unavailable(exc) from None

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            await pool.wait_closed()

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise self.not_open()
        return self._pool

    async def rows(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one named query outside a transaction and return its rows."""
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(self.q[name], params)
            rows: list[dict[str, Any]] = await cur.fetchall()
            return rows

    async def execute(self, name: str, params: dict[str, Any] | None = None) -> int:
        """Run one named statement in autocommit mode; returns the affected row count."""
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            count: int = await cur.execute(self.q[name], params)
            return count

    async def transaction(self, work: Work[T]) -> T:
        """Run ``work`` in one transaction, retried on deadlocks and lock timeouts."""
        for attempt in range(TRANSACTION_RETRIES):
            async with self.pool.acquire() as conn:
                await conn.begin()
                try:
                    async with conn.cursor() as cur:
                        result = await work(cur)
                    await conn.commit()
                    return result
                except asyncmy.errors.Error as exc:
                    await conn.rollback()
                    if error_code(exc) not in RETRY_CODES or attempt == TRANSACTION_RETRIES - 1:
                        raise
                except BaseException:
                    await conn.rollback()
                    raise
            await asyncio.sleep(retry_pause(attempt))
        raise AssertionError("unreachable")

    async def now(self) -> datetime:
        [row] = await self.rows("now")
        return aware(row["now"])

    async def schema_state(self) -> SchemaState:
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            return self.schema_state_at(await self._current_version(cur))

    async def _current_version(self, cur: DictCursor) -> int:
        await cur.execute(self.q["schema_table_exists"], {"table": f"{self.prefix}schema_version"})
        if not (await cur.fetchone())["found"]:
            return 0
        await cur.execute(self.q["schema_version"], {"role": self.role})
        row = await cur.fetchone()
        return int(row["version"]) if row else 0

    async def migrate(self) -> list[int]:
        """Serialized by GET_LOCK on the prefix. MySQL commits DDL implicitly, so migrations are
        written to be rerunnable; the version row is written after each file."""
        applied: list[int] = []
        lock = {"name": f"jobmaster:{self.prefix}:{self.dsn.database}"[:64], "timeout": 60}
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(self.q["migration_lock"], lock)
            if not (await cur.fetchone())["locked"]:
                raise SchemaError(f"timed out waiting for the migration lock at {self.location}")
            try:
                current = await self._current_version(cur)
                for migration in self.pending_migrations(current):
                    for statement in migration.statements(self.prefix):
                        await cur.execute(statement)
                    await cur.execute(self.q["set_schema_version"],
                                      {"role": self.role, "version": migration.version})
                    applied.append(migration.version)
            finally:
                await cur.execute(self.q["migration_unlock"], lock)
        return applied

    def id_list(self, ids: Collection[str]) -> object:
        """Ids as a tuple (the driver expands it for ``IN %(ids)s``)."""
        return tuple(ids)
